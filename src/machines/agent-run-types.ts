import type { ContentBlock, Message, ToolCallBlock, ToolResultBlock } from '../model/message.js';
import type { StopReason } from '../model/model-client.js';
import type { Usage } from '../model/usage.js';
import type { RunError } from '../run-error.js';
import type { RunEventBody, RunPhase } from '../streaming/run-event.js';

/** The limits a run is held to. */
export interface RunLimits {
  /** Model turns a run may take; a run that wants another one fails with `budget_exceeded`. */
  maxTurns: number;
  /** Tool calls of one turn that run at the same time. */
  maxConcurrentToolCalls: number;
}

/** A request the run waits on in `waiting_input` (filled by human-in-the-loop tools). */
export interface PendingRequest {
  requestId: string;
  kind: 'input' | 'approval';
  toolCallId: string;
  prompt: string;
}

/**
 * Everything a run knows, as plain JSON: the statechart's context, and so the checkpoint's. Clients,
 * callbacks and signals never go here; they live in the actor logic given at creation.
 */
export interface AgentRunContext {
  runId: string;
  messages: Message[];
  /** Model turns completed. */
  turn: number;
  usage: Usage;
  limits: RunLimits;
  /** How the last model turn stopped. */
  stopReason: StopReason | undefined;
  /** Tool calls of the last turn still to be answered. */
  pendingToolCalls: ToolCallBlock[];
  /** Results of `pendingToolCalls` recorded so far: the journal that keeps a call from running twice. */
  toolResults: ToolResultBlock[];
  pendingRequests: PendingRequest[];
  /** The phase to return to when a paused run resumes. */
  pausedFrom: 'plan' | 'act' | undefined;
  error: RunError | undefined;
}

/** What a run starts from. */
export interface AgentRunInput {
  runId: string;
  messages: Message[];
  limits: RunLimits;
}

/** What the `modelTurn` actor is given and returns. */
export interface ModelTurnInput {
  messages: readonly Message[];
  turn: number;
}
export interface ModelTurnOutput {
  content: ContentBlock[];
  stopReason: StopReason;
  usage: Usage;
}

/** What the `toolCalls` actor is given. */
export interface ToolCallsInput {
  calls: ToolCallBlock[];
  turn: number;
}

/** Events the run accepts from outside (and from its tool-calls actor). */
export type AgentRunEvent =
  | { type: 'CANCEL'; reason: string }
  | { type: 'PAUSE' }
  | { type: 'RESUME' }
  | { type: 'INPUT_RESPONSE'; requestId: string; value: unknown }
  | { type: 'TOOL_RESULT'; result: ToolResultBlock }
  | { type: 'TOOLS_SETTLED' }
  | { type: 'FAIL'; error: RunError };

/** Events the statechart emits (the runtime adds `runId`, `seq` and `at`). */
export type AgentRunEmitted = Extract<RunEventBody, { type: 'phase' | 'usage' | 'paused' | 'resumed' }>;

export type { RunPhase };
