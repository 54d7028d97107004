/**
 * The studio's JSON API, declared once for both sides: the zod schemas of what it accepts (the
 * server validates with them) and the types of what it answers (the web app imports them as types
 * only). Everything here is built from the types the runtime exports.
 */
import { z } from 'zod';
import type { RunLimits, RunSettings } from '../machines/agent-run-types.js';
import type { Message } from '../model/message.js';
import type { Usage } from '../model/usage.js';
import type { PendingRequest } from '../pending-request.js';
import {
  type CheckpointMeta,
  type CheckpointStatus,
  checkpointStatuses,
} from '../persistence/checkpoint-envelope.js';
import type { RunError } from '../run-error.js';
import type { RunHistory } from '../runtime/history/run-history.js';
import type { RunStatusInfo } from '../runtime/run/run-status.js';
import type { RunPhase } from '../streaming/run-event.js';

const positiveInteger = z.number().int().positive();

/** `GET api/runs?status=…`: the runs list, filtered by status. */
export const runsQuerySchema = z.strictObject({ status: z.enum(checkpointStatuses).optional() });

/** `GET api/compare?a=…&b=…`: the two runs to compare. */
export const compareQuerySchema = z.strictObject({ a: z.string().min(1), b: z.string().min(1) });

/** `POST api/checkpoints/:checkpointId/fork`: what the fork changes (see `ForkModifications`). */
export const forkBodySchema = z.strictObject({
  systemPrompt: z.string().optional(),
  input: z.string().min(1).optional(),
  /** One of the models the studio was given (`GET api/config` lists them). */
  modelId: z.string().min(1).optional(),
  limits: z
    .strictObject({
      maxTurns: positiveInteger.optional(),
      maxInputTokens: positiveInteger.optional(),
      maxOutputTokens: positiveInteger.optional(),
      maxTotalTokens: positiveInteger.optional(),
      maxCostUsd: z.number().positive().optional(),
    })
    .optional(),
  description: z.string().optional(),
});

/** `POST api/runs/:runId/pause` and `…/resume`: nothing (an empty object). */
export const emptyBodySchema = z.strictObject({});

/** `POST api/runs/:runId/cancel`. */
export const cancelBodySchema = z.strictObject({ reason: z.string().optional() });

/** `POST api/runs/:runId/replay`: replay up to a checkpoint's step, or the whole run. */
export const replayBodySchema = z.strictObject({ untilStep: z.number().int().nonnegative().optional() });

/** `POST api/runs/:runId/requests/:requestId`: an answer to a question, or a decision on an approval. */
export const requestBodySchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('answer'), value: z.unknown() }),
  z.strictObject({ action: z.literal('approve') }),
  z.strictObject({ action: z.literal('reject'), reason: z.string().optional() }),
]);

/** What the fork endpoint takes. */
export type ForkBody = z.infer<typeof forkBodySchema>;
/** What the cancel endpoint takes. */
export type CancelBody = z.infer<typeof cancelBodySchema>;
/** What the replay endpoint takes. */
export type ReplayBody = z.infer<typeof replayBodySchema>;
/** What the request endpoint takes. */
export type RequestBody = z.infer<typeof requestBodySchema>;

/** Every error the API answers: an agentchart error code, or one of the studio's own. */
export interface StudioErrorBody {
  error: { code: string; message: string };
}

/** `GET api/config`: what the app needs to know about the studio it talks to. */
export interface StudioConfig {
  /** The model ids a fork may switch to. */
  models: string[];
  /** The statuses a run can have, for the filter. */
  statuses: readonly CheckpointStatus[];
}

/** One row of the runs list. */
export interface StudioRunSummary {
  runId: string;
  status: CheckpointStatus;
  /** The phase of its latest checkpoint (null before the first). */
  phase: RunPhase | null;
  createdAt: string;
  updatedAt: string;
  /** The checkpoint it was forked from. */
  forkOf: string | null;
  /** Its checkpoints (the head's step + 1). */
  steps: number;
  /** Model turns taken. */
  turns: number;
  usage: Usage;
  costUsd: number;
  /** A line about its last message. */
  summary: string;
}

/** One checkpoint of a run's timeline. */
export interface StudioTimelineEntry extends CheckpointMeta {
  /** Time since the checkpoint before it (null for the first). */
  durationMs: number | null;
  /** The tool calls among the messages this step added. */
  toolCalls: { toolCallId: string; toolName: string }[];
}

/** `GET api/runs/:runId`: a run, its timeline and where it stands. */
export interface StudioRun {
  run: StudioRunSummary;
  /** Whether it is live in this process, its phase, and what it waits on. */
  info: RunStatusInfo;
  parent: RunHistory['parent'];
  children: RunHistory['children'];
  timeline: StudioTimelineEntry[];
  /** The error of its latest checkpoint, if it failed. */
  error: RunError | null;
}

/** `GET api/checkpoints/:checkpointId`: a run as it was at one checkpoint. */
export interface StudioCheckpoint {
  checkpoint: CheckpointMeta;
  /** The statechart's state at that point (the snapshot's value). */
  state: string;
  messages: readonly Message[];
  pendingRequests: readonly PendingRequest[];
  error: RunError | null;
  settings: RunSettings;
  limits: RunLimits;
}

/** `GET api/runs/:runId/tree`: the fork tree a run belongs to, from its root. */
export interface StudioForkTree {
  runId: string;
  status: CheckpointStatus;
  /** The checkpoint of its parent it was forked from. */
  forkOf: string | null;
  children: StudioForkTree[];
}

/** One state of the statechart, as its definition declares it. */
export interface StudioMachineState {
  key: string;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  initial: boolean;
  /** Events it handles without leaving (no target): `TOOL_RESULT`, `RESPOND`. */
  internalEvents: string[];
}

/** One transition of the statechart; `source: null` for the machine's own (from any state). */
export interface StudioMachineTransition {
  source: string | null;
  target: string;
  /** The event (`PAUSE`), `always` for an eventless one, `done: modelTurn` for an invoked actor's. */
  event: string;
  guard: string | null;
}

/** `GET api/machine`: the run statechart, walked from the machine's own definition. */
export interface StudioMachineGraph {
  id: string;
  version: number;
  states: StudioMachineState[];
  transitions: StudioMachineTransition[];
}
