import { z } from 'zod';
import { AgentchartError } from '../agentchart-error.js';
import type { AgentRunContext } from '../machines/agent-run-types.js';
import {
  messageSchema,
  toolCallBlockSchema,
  toolResultBlockSchema,
  usageSchema,
} from '../model/message-schema.js';
import { stopReasons } from '../model/model-client.js';
import { errorClasses } from '../run-error.js';

/** The envelope format this version of agentchart writes and reads. */
export const checkpointEnvelopeVersion = 1;

const phases = ['plan', 'act', 'observe', 'paused', 'waiting_input', 'done', 'failed', 'cancelled'] as const;
/** Every {@link CheckpointStatus}: what a run was doing when a checkpoint was taken (also a run's status). */
export const checkpointStatuses = [
  'active',
  'paused',
  'waiting_input',
  'done',
  'failed',
  'cancelled',
] as const;

const count = z.number().int().nonnegative();
/** The run's context without its messages (stored apart, once, and shared). */
export const contextWithoutMessagesSchema = z.strictObject({
  runId: z.string().min(1),
  turn: count,
  usage: usageSchema,
  costUsd: z.number().nonnegative(),
  limits: z.strictObject({
    maxTurns: z.number().int().positive(),
    maxConcurrentToolCalls: z.number().int().positive(),
    maxInputTokens: count.optional(),
    maxOutputTokens: count.optional(),
    maxTotalTokens: count.optional(),
    maxCostUsd: z.number().nonnegative().optional(),
  }),
  timeouts: z.strictObject({
    totalMs: z.number().positive().optional(),
    planMs: z.number().positive().optional(),
    actMs: z.number().positive().optional(),
  }),
  deadlines: z.strictObject({ total: count.optional(), plan: count.optional(), act: count.optional() }),
  stopReason: z.enum(stopReasons).optional(),
  providerStopReason: z.string().optional(),
  pendingToolCalls: z.array(toolCallBlockSchema),
  toolResults: z.array(toolResultBlockSchema),
  pendingRequests: z.array(
    z.strictObject({
      requestId: z.string().min(1),
      kind: z.enum(['input', 'approval']),
      toolCallId: z.string().min(1),
      toolName: z.string(),
      prompt: z.string(),
      input: z.unknown(),
    }),
  ),
  pausedFrom: z.enum(['plan', 'act', 'waiting_input']).optional(),
  settings: z.strictObject({
    systemPrompt: z.string().optional(),
    modelId: z.string().optional(),
    toolNames: z.array(z.string()).optional(),
  }),
  session: z.strictObject({ sessionId: z.string().min(1), version: count, historyLength: count }).optional(),
  error: z
    .strictObject({
      errorClass: z.enum(errorClasses),
      recoverable: z.boolean(),
      message: z.string(),
      details: z.record(z.string(), z.unknown()),
      cause: z
        .strictObject({ name: z.string(), message: z.string(), code: z.string().optional() })
        .optional(),
    })
    .optional(),
});

/** The XState persisted snapshot of a run, checked enough that restoring it cannot go astray. */
const snapshotSchema = z
  .object({
    status: z.enum(['active', 'done', 'error', 'stopped']),
    value: z.enum(phases),
    historyValue: z.record(z.string(), z.unknown()),
    children: z.record(
      z.string(),
      z.object({
        src: z.enum(['modelTurn', 'toolCalls']),
        snapshot: z.object({ status: z.enum(['active', 'done', 'error', 'stopped']) }).loose(),
        syncSnapshot: z.boolean().optional(),
      }),
    ),
    output: z.unknown().optional(),
    error: z.unknown().optional(),
  })
  .loose();

/** The fields of an envelope that describe it, without its context and snapshot. */
const metaShape = {
  version: z.literal(checkpointEnvelopeVersion),
  id: z.string().min(1),
  runId: z.string().regex(/^[\w.:-]{1,128}$/, 'runId must be 1 to 128 letters, digits, or _ . : -'),
  parentId: z.string().nullable(),
  forkOf: z.string().nullable(),
  stepNum: count,
  phase: z.enum(phases),
  nextPhase: z.enum(phases).nullable(),
  savedAt: z.iso.datetime(),
  status: z.enum(checkpointStatuses),
  tags: z.array(z.string()),
  description: z.string().nullable(),
  machine: z.strictObject({ id: z.string(), version: z.number().int() }),
};

/** A checkpoint's description, as `checkpoints.list` returns it. */
export const checkpointMetaSchema = z.strictObject({
  ...metaShape,
  messageCount: count,
  /** Model turns the run had taken, its usage and cost, and a line about its last message. */
  turn: count,
  usage: usageSchema,
  costUsd: z.number().nonnegative(),
  summary: z.string(),
});

/** A checkpoint as it is exported and resumed: the run's whole state, self-contained. */
export const checkpointEnvelopeSchema = z
  .strictObject({
    ...metaShape,
    context: contextWithoutMessagesSchema.extend({ messages: z.array(messageSchema) }),
    snapshot: snapshotSchema,
  })
  .superRefine((envelope, issues) => {
    if (envelope.context.runId !== envelope.runId) {
      issues.addIssue({
        code: 'custom',
        path: ['context', 'runId'],
        message: 'differs from the envelope runId',
      });
    }
    if (envelope.snapshot.value !== envelope.phase) {
      issues.addIssue({
        code: 'custom',
        path: ['snapshot', 'value'],
        message: `differs from phase '${envelope.phase}'`,
      });
    }
  });

/** What a run was doing when a checkpoint was taken. */
export type CheckpointStatus = (typeof checkpointStatuses)[number];
/** A checkpoint's description, without the run's state. */
export type CheckpointMeta = z.infer<typeof checkpointMetaSchema>;
/** A whole checkpoint: its description, the run's context and the XState snapshot. */
export interface CheckpointEnvelope
  extends Omit<CheckpointMeta, 'messageCount' | 'turn' | 'usage' | 'costUsd' | 'summary'> {
  context: AgentRunContext;
  /** The XState persisted snapshot, without its context (above) and without the model turn's input messages. */
  snapshot: Record<string, unknown> & {
    value: string;
    status: string;
    children: Record<string, { src: string; snapshot: Record<string, unknown>; syncSnapshot?: boolean }>;
  };
}

/** The run a checkpoint id belongs to (ids are `runId@stepNum`). */
export function runOfCheckpoint(checkpointId: string): string {
  return checkpointId.slice(0, checkpointId.lastIndexOf('@'));
}

/** The description of a checkpoint, from its envelope. */
export function metaOf(envelope: CheckpointEnvelope): CheckpointMeta {
  const { context, snapshot: _, ...described } = envelope;
  const { messages, turn, usage, costUsd } = context;
  return {
    ...described,
    messageCount: messages.length,
    turn,
    usage,
    costUsd,
    summary: summaryOf(messages.at(-1)),
  };
}

/** One line about a message: its text, or the tool calls or results it carries. */
function summaryOf(message: CheckpointEnvelope['context']['messages'][number] | undefined): string {
  if (message === undefined) return '';
  const parts = message.content.map((block) => {
    switch (block.type) {
      case 'text':
        return block.text;
      case 'tool-call':
        return `-> ${block.toolName}(${JSON.stringify(block.input)})`;
      case 'tool-result':
        return `<- ${block.toolName}: ${typeof block.output === 'string' ? block.output : JSON.stringify(block.output)}`;
      default:
        return '';
    }
  });
  const line = collapsedPrefix([`${message.role}: `, parts.filter(Boolean).join(' ')], 120);
  return line.length > 120 ? `${line.slice(0, 119)}…` : line;
}

/**
 * The text of `pieces` with each run of whitespace made one space (as `.replace(/\s+/g, ' ')`), up
 * to `max + 1` characters: what a summary needs of a message whose tool output may be megabytes.
 */
function collapsedPrefix(pieces: readonly string[], max: number): string {
  let line = '';
  let inSpace = false;
  for (const piece of pieces) {
    for (let index = 0; index < piece.length; index++) {
      const char = piece[index] as string;
      if (isSpace(char)) {
        if (!inSpace) line += ' ';
        inSpace = true;
      } else {
        line += char;
        inSpace = false;
      }
      if (line.length > max) return line;
    }
  }
  return line;
}

const space = /\s/;
function isSpace(char: string): boolean {
  const code = char.charCodeAt(0);
  if (code < 128) return code === 32 || (code >= 9 && code <= 13);
  return space.test(char);
}

/**
 * Validates an envelope (from a file, a store or a caller): `CHECKPOINT_INVALID` naming every field
 * that is wrong. `source` names where it came from, for the message.
 */
export function parseCheckpointEnvelope(value: unknown, source: string): CheckpointEnvelope {
  const parsed = checkpointEnvelopeSchema.safeParse(value);
  if (!parsed.success) {
    throw new AgentchartError({
      code: 'CHECKPOINT_INVALID',
      message: `The checkpoint ${source} is not a valid envelope:\n${z.prettifyError(parsed.error)}`,
      details: { source, issues: parsed.error.issues.map(({ path, message }) => ({ path, message })) },
    });
  }
  return parsed.data as unknown as CheckpointEnvelope;
}

/** Parses JSON text of a checkpoint: `CHECKPOINT_CORRUPT` when it is not JSON at all. */
export function parseCheckpointJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new AgentchartError({
      code: 'CHECKPOINT_CORRUPT',
      message: `The checkpoint ${source} is corrupt: its bytes are not JSON`,
      details: { source },
      cause,
    });
  }
}
