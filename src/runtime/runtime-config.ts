import type { InspectionEvent, Observer } from 'xstate';
import { z } from 'zod';
import { AgentchartError } from '../agentchart-error.js';
import { type Clock, systemClock } from '../clock.js';
import type { RunLimits, RunTimeouts } from '../machines/agent-run-types.js';
import type { ModelClient } from '../model/model-client.js';
import { claudePrices, type ModelPrice, priceOf } from '../model/prices.js';
import { defaultIdleStreamMs, defaultRetryPolicy, type RetryPolicy } from '../model/retrying-stream.js';
import { parseOptions } from '../parse-options.js';
import type { CheckpointStore } from '../persistence/checkpoint-store.js';
import type { Tool } from '../tools/define-tool.js';
import type {
  CheckpointDurability,
  CheckpointOptions,
  CheckpointPolicy,
} from './checkpoints/checkpoint-policy.js';
import type { CheckpointMigrations } from './checkpoints/load-checkpoint.js';
import type { CancelToken } from './run/cancel-token.js';
import type { RuntimeCluster } from './runtime-cluster.js';

/** What {@link createRuntime} takes. */
export interface RuntimeConfig {
  /** The model every run talks to: `anthropicModel()` from `agentchart/anthropic`, or `scriptedModel()`. */
  model: ModelClient;
  /** Tools the model may call, made with `defineTool`. */
  tools?: readonly Tool[];
  systemPrompt?: string;
  limits?: Partial<RunLimits>;
  /** How long runs, their phases, tool calls and silent model streams may take. */
  timeouts?: RuntimeTimeouts;
  /**
   * How a model turn whose attempt failed with a recoverable error (an overloaded or rate-limited
   * API, a dropped or stalled stream) is tried again, whatever the model client: each retry is a
   * `retry` event. Default {@link defaultRetryPolicy}: 4 retries, from 500 ms up to 30 s apart (a
   * client's `retryAfterMs` wins).
   */
  retry?: Partial<RetryPolicy>;
  /** More models, by their id, for forks that name another model than `model`. */
  models?: readonly ModelClient[];
  /** Prices per model id or id prefix, added to (and overriding) {@link claudePrices}. */
  prices?: Readonly<Record<string, ModelPrice>>;
  /**
   * Drop a run from memory when it parks (`paused` or `waiting_input`, its checkpoint on disk): its
   * handle's result then resolves with that status, and answering or resuming it loads it again.
   * Default false.
   */
  unloadParked?: boolean;
  /**
   * Where runs and checkpoints are kept. Default: the store at `AGENTCHART_STORE` when it is set (a
   * folder, or a `postgres://` URL: see `openStore`), else LevelDB in `./.agentchart`; opened on
   * first use, closed by `runtime.close()`. A store you pass is yours to close.
   */
  store?: CheckpointStore;
  /**
   * Runs execute on a distributed engine (`bullmqCluster` from `agentchart/cluster`): `start`,
   * `resume`, `fork`, answers and `recover` dispatch to its queue, `work()` makes this process a
   * worker, and handles, `events` and controls work from any process. Needs a store that processes
   * share (`postgresStore`).
   */
  cluster?: RuntimeCluster;
  /** When checkpoints are written, and whether steps wait for them. Default `every-step`, `sync`. */
  checkpoint?: CheckpointOptions;
  /** Upgrades for checkpoints written by older versions of the run statechart. */
  migrations?: CheckpointMigrations;
  /**
   * An XState inspection observer (for example `createWebSocketInspector().inspect`), given every
   * run's actor; or the `ws://` / `wss://` URL of a Stately inspector relay, for which the runtime
   * creates the WebSocket inspector itself (deep enough for the whole statechart, secrets redacted
   * from contexts and events; needs `@statelyai/inspect`) and stops it on `close()`.
   */
  inspect?:
    | Observer<InspectionEvent>
    | ((event: InspectionEvent) => void)
    | `ws://${string}`
    | `wss://${string}`;
  /** Emit `telemetry` events (model-turn and tool-call timings). Off by default. */
  telemetry?: boolean;
  /**
   * Where runs read the time and set their timers (deadlines, phase and tool timeouts, retry
   * backoff, the idle-stream watchdog, timestamps).
   * Default: the system clock. Tests pass `createTestClock()` from `agentchart/testing` to move time
   * by hand instead of sleeping.
   */
  clock?: Clock;
  /**
   * The log of each run's events kept in the store, for `runtime.events(runId, { fromSeq })`:
   * at most `maxEvents` per run (token deltas count once per content block). Default 10,000.
   * `false` keeps no log: `runtime.events` then gives only what happens from when it subscribes.
   */
  eventLog?: { maxEvents?: number } | false;
}

/** The `timeouts` of a runtime: {@link RunTimeouts} for every run, and two more. */
export interface RuntimeTimeouts extends RunTimeouts {
  /** The timeout of a tool call whose tool sets no `timeoutMs`. */
  toolMs?: number;
  /** Abort (and retry) a model stream that sends nothing for this long. Default 60000. */
  idleStreamMs?: number;
}

/** What `runtime.start` takes. */
export interface StartOptions {
  /** The user's message that starts the run. */
  input: string;
  /** The run's id; one is generated when omitted. No two runs of a store share one. */
  runId?: string;
  /** Cancels the run (a signal's abort, or a token's `cancel`): the model stream and tool calls in flight are aborted. */
  signal?: AbortSignal | CancelToken;
  /** This run's total timeout, instead of `timeouts.totalMs`. */
  timeoutMs?: number;
}

/** What `runtime.resume` takes. */
export interface ResumeOptions {
  /** Continue as a new run with this id (even from the run's latest checkpoint). */
  runId?: string;
  signal?: AbortSignal | CancelToken;
  /** New limits for the run, over its own (to continue a run that ended with `budget_exceeded`). */
  limits?: Partial<Omit<RunLimits, 'maxConcurrentToolCalls'>>;
  /** A new total timeout, from now (to continue a run that ended with a `timeout`). */
  timeoutMs?: number;
}

/** What `runtime.recover` takes. */
export interface RecoverOptions {
  /** Told about each run that cannot be resumed (default: a warning on the console). */
  onError?: (error: unknown, runId: string) => void;
}

/** The limits a run gets when the runtime config does not say otherwise. */
export const defaultLimits: RunLimits = { maxTurns: 50, maxConcurrentToolCalls: 4 };

/** Where the default LevelDB store lives, relative to the working directory. */
export const defaultStorePath = '.agentchart';

const runId = z
  .string()
  .regex(/^[\w.:-]{1,128}$/, 'runId must be 1 to 128 letters, digits, or _ . : -')
  .optional();
const positiveMs = z.number().positive().optional();
const signalOrToken = z
  .custom<AbortSignal | CancelToken>(
    (value) => value instanceof AbortSignal || (value as CancelToken)?.signal instanceof AbortSignal,
    'signal must be an AbortSignal or a CancelToken',
  )
  .optional();
const limitsShape = {
  maxTurns: z.number().int().positive().optional(),
  maxInputTokens: z.number().int().nonnegative().optional(),
  maxOutputTokens: z.number().int().nonnegative().optional(),
  maxTotalTokens: z.number().int().nonnegative().optional(),
  maxCostUsd: z.number().nonnegative().optional(),
};
const modelClient = z.custom<ModelClient>(
  (value) =>
    typeof (value as ModelClient)?.stream === 'function' &&
    typeof (value as ModelClient)?.modelId === 'string',
  'must be a ModelClient (a modelId and a stream function)',
);
// Unknown keys are refused: a misspelt option would otherwise be ignored.
const configSchema = z.strictObject({
  model: modelClient,
  tools: z
    .array(
      z.custom<Tool>(
        (value) =>
          typeof (value as Tool)?.name === 'string' &&
          typeof (value as Tool)?.execute === 'function' &&
          typeof (value as Tool)?.spec === 'object',
        'each tool must be made with defineTool()',
      ),
    )
    .optional(),
  systemPrompt: z.string().optional(),
  models: z.array(modelClient).optional(),
  telemetry: z.boolean().optional(),
  limits: z
    .strictObject({ ...limitsShape, maxConcurrentToolCalls: z.number().int().positive().optional() })
    .optional(),
  retry: z
    .strictObject({
      maxRetries: z.number().int().nonnegative().optional(),
      baseDelayMs: z.number().nonnegative().optional(),
      maxDelayMs: z.number().nonnegative().optional(),
    })
    .optional(),
  timeouts: z
    .strictObject({
      totalMs: positiveMs,
      planMs: positiveMs,
      actMs: positiveMs,
      toolMs: positiveMs,
      idleStreamMs: positiveMs,
    })
    .optional(),
  prices: z
    .record(
      z.string(),
      z.strictObject({
        inputPerMTok: z.number().nonnegative(),
        outputPerMTok: z.number().nonnegative(),
        cacheWritePerMTok: z.number().nonnegative(),
        cacheReadPerMTok: z.number().nonnegative(),
      }),
    )
    .optional(),
  unloadParked: z.boolean().optional(),
  inspect: z
    .union([
      z
        .string()
        .regex(/^wss?:\/\/.+/, "inspect must be a 'ws://' or 'wss://' URL, or an inspection observer"),
      z.function(),
      z.custom<object>((value) => typeof value === 'object' && value !== null, 'inspect must be an observer'),
    ])
    .optional(),
  eventLog: z
    .union([z.literal(false), z.strictObject({ maxEvents: z.number().int().positive().optional() })])
    .optional(),
  cluster: z
    .custom<RuntimeCluster>(
      (value) => (value as RuntimeCluster)?.kind === 'agentchart-cluster',
      'cluster must come from bullmqCluster() (agentchart/cluster)',
    )
    .optional(),
  store: z
    .custom<CheckpointStore>(
      (value) => typeof (value as CheckpointStore)?.appendCheckpoint === 'function',
      'store must be a CheckpointStore',
    )
    .optional(),
  checkpoint: z
    .strictObject({
      policy: z
        .union([
          z.enum(['every-step', 'on-tool-call', 'on-error', 'manual']),
          z.custom<CheckpointPolicy>((value) => typeof value === 'function'),
        ])
        .optional(),
      durability: z.enum(['sync', 'async']).optional(),
    })
    .optional(),
  clock: z
    .custom<Clock>(
      (value) =>
        typeof (value as Clock)?.now === 'function' &&
        typeof (value as Clock)?.setTimeout === 'function' &&
        typeof (value as Clock)?.clearTimeout === 'function',
      'clock must have now(), setTimeout() and clearTimeout()',
    )
    .optional(),
  migrations: z
    .record(
      z.string(),
      z.custom<unknown>((value) => typeof value === 'function'),
    )
    .optional(),
});
const startSchema = z.strictObject({
  input: z.string().min(1, 'input must be a non-empty string'),
  runId,
  signal: signalOrToken,
  timeoutMs: positiveMs,
});
const resumeSchema = z.strictObject({
  runId,
  signal: signalOrToken,
  limits: z.strictObject(limitsShape).optional(),
  timeoutMs: positiveMs,
});
const statuses = z.enum(['active', 'paused', 'waiting_input', 'done', 'failed', 'cancelled']);
const checkpointQuerySchema = z.strictObject({
  runId: z.string().optional(),
  tags: z.array(z.string()).optional(),
  limit: z.number().int().positive().optional(),
  order: z.enum(['asc', 'desc']).optional(),
});
const runQuerySchema = z.strictObject({
  status: z.union([statuses, z.array(statuses)]).optional(),
  limit: z.number().int().positive().optional(),
});
const labelSchema = z.strictObject({
  tags: z.array(z.string()).optional(),
  description: z.string().optional(),
});

/** Validates a query of `checkpoints.list`, `runs.list` or the label of `run.checkpoint`. */
export function parseQuery<T>(kind: 'checkpoints.list' | 'runs.list' | 'run.checkpoint', value: T): T {
  const schema = {
    'checkpoints.list': checkpointQuerySchema,
    'runs.list': runQuerySchema,
    'run.checkpoint': labelSchema,
  }[kind];
  parseOptions(`${kind} options`, schema as z.ZodType, value ?? {});
  return value;
}

/** The runtime's settings, validated, with the defaults filled in. */
export interface RuntimeSettings {
  limits: RunLimits;
  timeouts: RuntimeTimeouts & { idleStreamMs: number };
  retry: RetryPolicy;
  /** Prices by model id or prefix: {@link claudePrices} and the config's. */
  prices: Readonly<Record<string, ModelPrice>>;
  unloadParked: boolean;
  /** The most events a run's log keeps (0: no log). */
  maxLoggedEvents: number;
  policy: CheckpointPolicy;
  durability: CheckpointDurability;
  migrations: CheckpointMigrations;
  clock: Clock;
}

/** Validates a runtime config (`INVALID_ARGUMENT` naming every wrong field) and fills in the defaults. */
export function resolveRuntimeConfig(config: RuntimeConfig): RuntimeSettings {
  parseOptions('createRuntime config', configSchema, config);
  const limits = { ...defaultLimits, ...defined(config.limits ?? {}) };
  const prices = { ...claudePrices, ...config.prices };
  if (limits.maxCostUsd !== undefined && priceOf(config.model.modelId, prices) === undefined) {
    throw new AgentchartError({
      code: 'INVALID_ARGUMENT',
      message: `limits.maxCostUsd needs the price of model '${config.model.modelId}': add it to createRuntime({ prices })`,
    });
  }
  return {
    limits,
    timeouts: { idleStreamMs: defaultIdleStreamMs, ...defined(config.timeouts ?? {}) },
    retry: { ...defaultRetryPolicy, ...defined(config.retry ?? {}) },
    prices,
    unloadParked: config.unloadParked === true,
    maxLoggedEvents: config.eventLog === false ? 0 : (config.eventLog?.maxEvents ?? 10_000),
    policy: config.checkpoint?.policy ?? 'every-step',
    durability: config.checkpoint?.durability ?? 'sync',
    migrations: config.migrations ?? {},
    clock: config.clock ?? systemClock,
  };
}

/** Checks the arguments of `runtime.events` (a run id, a non-negative integer `fromSeq`); returns the seq to start from. */
export function parseEventsArguments(runId: unknown, options: { fromSeq?: number }): number {
  if (
    typeof runId !== 'string' ||
    runId === '' ||
    !(options.fromSeq === undefined || (Number.isInteger(options.fromSeq) && options.fromSeq >= 0))
  ) {
    throw new AgentchartError({
      code: 'INVALID_ARGUMENT',
      message: `runtime.events needs a run id and a fromSeq that is a non-negative integer, got ${JSON.stringify({ runId, ...options })}`,
    });
  }
  return options.fromSeq ?? 0;
}

/** Validates the options of `runtime.start`. */
export function parseStartOptions(options: StartOptions): StartOptions {
  parseOptions('runtime.start options', startSchema, options);
  return options;
}

/** Validates the options of `runtime.resume`. */
export function parseResumeOptions(options: ResumeOptions): ResumeOptions {
  parseOptions('runtime.resume options', resumeSchema, options);
  return options;
}

/** The object without its undefined fields (so that spreading it does not unset defaults). */
export function defined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as Partial<T>;
}
