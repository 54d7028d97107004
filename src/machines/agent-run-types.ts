import type { ContentBlock, Message, ToolCallBlock, ToolResultBlock } from '../model/message.js';
import type { StopReason } from '../model/model-client.js';
import type { Usage } from '../model/usage.js';
import type { PendingRequest, RequestAnswer } from '../pending-request.js';
import type { RunError } from '../run-error.js';
import type { RunEventBody, RunPhase } from '../streaming/run-event.js';

/** The limits a run is held to. Exceeding one ends it with `budget_exceeded` (recoverable). */
export interface RunLimits {
  /** Model turns a run may take; a run that wants another one fails. */
  maxTurns: number;
  /** Tool calls of one turn that run at the same time. */
  maxConcurrentToolCalls: number;
  maxInputTokens?: number;
  maxOutputTokens?: number;
  /** Input, output and cache tokens together. */
  maxTotalTokens?: number;
  /** Cost in US dollars, from the runtime's price table. */
  maxCostUsd?: number;
}

/** How long a run and its phases may take. Deadlines are kept as absolute times in the context. */
export interface RunTimeouts {
  /** The whole run, from its start (resuming with a new `timeoutMs` sets a new deadline). */
  totalMs?: number;
  /** One model turn (the `plan` phase). */
  planMs?: number;
  /** The tool calls of one turn (the `act` phase). */
  actMs?: number;
}

/** The absolute deadlines (milliseconds since the epoch) a run is held to. */
export interface RunDeadlines {
  total?: number;
  plan?: number;
  act?: number;
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
  /** What the usage cost, in US dollars (0 for a model without a price). */
  costUsd: number;
  limits: RunLimits;
  timeouts: RunTimeouts;
  deadlines: RunDeadlines;
  /** How the last model turn stopped. */
  stopReason: StopReason | undefined;
  /** The provider's own word for how the last turn stopped, where it differs from `stopReason`. */
  providerStopReason: string | undefined;
  /** Tool calls of the last turn still to be answered. */
  pendingToolCalls: ToolCallBlock[];
  /** Results of `pendingToolCalls` recorded so far: the journal that keeps a call from running twice. */
  toolResults: ToolResultBlock[];
  pendingRequests: PendingRequest[];
  /** The phase to return to when a paused run resumes. */
  pausedFrom: 'plan' | 'act' | 'waiting_input' | undefined;
  /** What this run does differently from its runtime (a fork's changes): kept with it, so a restore keeps them. */
  settings: RunSettings;
  /** The session the run belongs to, the version it started from, and how many messages of history it began with. */
  session: SessionLink | undefined;
  error: RunError | undefined;
}

/** A run's own system prompt, model and tools, when they differ from its runtime's. */
export interface RunSettings {
  systemPrompt?: string;
  /** The id of the model (the runtime's `model`, or one of its `models`). */
  modelId?: string;
  /** The names of the runtime's tools the run may use. */
  toolNames?: string[];
}

/** A run's link to its session: it commits its new messages there, on that version, when it ends. */
export interface SessionLink {
  sessionId: string;
  version: number;
  historyLength: number;
}

/** What a run starts from: a new conversation, or (to continue a run) a whole context. */
export interface AgentRunInput {
  runId: string;
  messages: Message[];
  limits: RunLimits;
  timeouts?: RunTimeouts;
  /** When the run started (for the total deadline); now when omitted. */
  startedAt?: number;
  /** A context to continue from (a run that ended on a budget or a timeout, resumed with new limits). */
  context?: AgentRunContext;
  /** The session a new run belongs to (its `messages` then begin with the session's history). */
  session?: SessionLink;
}

/** What the `modelTurn` actor is given and returns. */
export interface ModelTurnInput {
  runId: string;
  messages: readonly Message[];
  turn: number;
}
export interface ModelTurnOutput {
  content: ContentBlock[];
  stopReason: StopReason;
  /** The provider's own word for it, where it differs from `stopReason`. */
  providerStopReason?: string;
  usage: Usage;
  costUsd: number;
  /** The human requests the turn's tool calls raise (questions, approvals), made by the actor that knows the tools. */
  requests: PendingRequest[];
}

/** What the `toolCalls` actor is given. */
export interface ToolCallsInput {
  runId: string;
  calls: ToolCallBlock[];
  turn: number;
}

/** Events the run accepts from outside (and from its tool-calls actor). */
export type AgentRunEvent =
  | { type: 'CANCEL'; reason: string }
  | { type: 'PAUSE' }
  | { type: 'RESUME' }
  | { type: 'RESPOND'; requestId: string; answer: RequestAnswer }
  | { type: 'TIMEOUT'; limit: keyof RunDeadlines; phase: RunPhase }
  | { type: 'TOOL_RESULT'; result: ToolResultBlock }
  | { type: 'TOOLS_SETTLED' }
  | { type: 'FAIL'; error: RunError };

/** Events the statechart emits (the runtime adds `runId`, `seq` and `at`). */
export type AgentRunEmitted = Extract<
  RunEventBody,
  { type: 'phase' | 'usage' | 'paused' | 'resumed' | 'input-request' }
>;

export type { PendingRequest, RequestAnswer, RunPhase };
