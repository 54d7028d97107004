import type { InspectionEvent, Observer } from 'xstate';
import { z } from 'zod';
import { AgentchartError } from '../agentchart-error.js';
import type { RunLimits } from '../machines/agent-run-types.js';
import type { ModelClient } from '../model/model-client.js';
import type { Tool } from '../tools/define-tool.js';

/** What {@link createRuntime} takes. */
export interface RuntimeConfig {
  /** The model every run talks to: `anthropicModel()` from `agentchart/anthropic`, or `scriptedModel()`. */
  model: ModelClient;
  /** Tools the model may call, made with `defineTool`. */
  tools?: readonly Tool[];
  systemPrompt?: string;
  limits?: Partial<RunLimits>;
  /** An XState inspection observer (for example `createWebSocketInspector().inspect`), given every run's actor. */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Emit `telemetry` events (model-turn and tool-call timings). Off by default. */
  telemetry?: boolean;
}

/** What `runtime.start` takes. */
export interface StartOptions {
  /** The user's message that starts the run. */
  input: string;
  /** The run's id; one is generated when omitted. No two active runs of a runtime share one. */
  runId?: string;
  /** Aborting it cancels the run: the model stream and tool calls in flight are aborted. */
  signal?: AbortSignal;
}

/** The limits a run gets when the runtime config does not say otherwise. */
export const defaultLimits: RunLimits = { maxTurns: 50, maxConcurrentToolCalls: 4 };

const limitsSchema = z.object({
  maxTurns: z.number().int().positive().optional(),
  maxConcurrentToolCalls: z.number().int().positive().optional(),
});

const startSchema = z.object({
  input: z.string().min(1, 'input must be a non-empty string'),
  runId: z
    .string()
    .regex(/^[\w.:-]{1,128}$/, 'runId must be 1 to 128 letters, digits, or _ . : -')
    .optional(),
  signal: z.instanceof(AbortSignal).optional(),
});

/** Validates the limits of a runtime config and fills in the defaults. */
export function resolveLimits(limits: Partial<RunLimits> | undefined): RunLimits {
  const parsed = limitsSchema.strict().safeParse(limits ?? {});
  if (!parsed.success) throw invalid('limits', parsed.error);
  const given = Object.fromEntries(Object.entries(parsed.data).filter(([, value]) => value !== undefined));
  return { ...defaultLimits, ...given };
}

/** Validates the options of `runtime.start`. */
export function parseStartOptions(options: StartOptions): StartOptions {
  const parsed = startSchema.safeParse(options);
  if (!parsed.success) throw invalid('runtime.start options', parsed.error);
  return options;
}

function invalid(what: string, error: z.ZodError): AgentchartError {
  return new AgentchartError({
    code: 'INVALID_ARGUMENT',
    message: `Invalid ${what}:\n${z.prettifyError(error)}`,
    details: { issues: error.issues },
  });
}
