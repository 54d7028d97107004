export {
  AgentchartError,
  type AgentchartErrorCode,
  type AgentchartErrorOptions,
  ConcurrencyError,
} from './agentchart-error.js';
export { type Clock, systemClock } from './clock.js';
export {
  type ErrorCategory,
  errorCategoryOf,
  httpStatusOf,
  httpStatusOfCategory,
} from './error-category.js';
export { applyCors, type CorsOptions } from './http/cors.js';
export { type ServeRunEventsOptions, serveRunEvents } from './http/serve-run-events.js';
export {
  type AgentRunActor,
  agentRunMachine,
  agentRunMachineVersion,
} from './machines/agent-run-machine.js';
export type {
  AgentRunContext,
  AgentRunEvent,
  AgentRunInput,
  RunDeadlines,
  RunLimits,
  RunSettings,
  RunTimeouts,
} from './machines/agent-run-types.js';
export {
  type ContentBlock,
  type Message,
  type RedactedThinkingBlock,
  type TextBlock,
  type ThinkingBlock,
  type ToolCallBlock,
  type ToolResultBlock,
  textOf,
  toolCallsOf,
} from './model/message.js';
export {
  type ModelClient,
  type ModelFinishPart,
  type ModelRequest,
  type ModelStreamOptions,
  type ModelStreamPart,
  type StopReason,
  stopReasons,
  type ToolSpec,
} from './model/model-client.js';
export { claudePrices, costOf, type ModelPrice, priceOf } from './model/prices.js';
export {
  defaultIdleStreamMs,
  defaultRetryPolicy,
  type RetryPolicy,
} from './model/retrying-stream.js';
export { addUsage, emptyUsage, type Usage } from './model/usage.js';
export type { PendingRequest, RequestAnswer } from './pending-request.js';
export {
  type CheckpointEnvelope,
  type CheckpointMeta,
  type CheckpointStatus,
  checkpointEnvelopeVersion,
} from './persistence/checkpoint-envelope.js';
export type { CheckpointStore } from './persistence/checkpoint-store.js';
export { memoryStore } from './persistence/memory/memory-store.js';
export { type OpenStoreOptions, openStore } from './persistence/open-store.js';
export type { CheckpointQuery, RunQuery, RunRecord } from './persistence/run-store.js';
export type { SessionMessage, SessionRecord } from './persistence/session-store.js';
export type { StoreCacheOptions } from './persistence/store-cache-options.js';
export type { ErrorClass, RunError } from './run-error.js';
export type { RunResult, RunStatus, RunUsage } from './run-result.js';
export type {
  CheckpointDurability,
  CheckpointOptions,
  CheckpointPolicy,
} from './runtime/checkpoints/checkpoint-policy.js';
export type { CheckpointLabel } from './runtime/checkpoints/checkpointer.js';
export type { CheckpointMigrations, ResumeSource } from './runtime/checkpoints/load-checkpoint.js';
export { createRuntime } from './runtime/create-runtime.js';
export type { ForkModifications, ForkOptions } from './runtime/history/fork-run.js';
export type { ReplayReport } from './runtime/history/replay-run.js';
export type { RunComparison, RunHistory, RunPoint, RunSide } from './runtime/history/run-history.js';
export { redactSecrets } from './runtime/inspector.js';
export { type CancelToken, createCancelToken } from './runtime/run/cancel-token.js';
export type { RunHandle } from './runtime/run/run-handle.js';
export type { RunStatusInfo } from './runtime/run/run-status.js';
export type { Runtime } from './runtime/runtime.js';
export type { ClusterHost, ClusterWorker, RuntimeCluster, WorkOptions } from './runtime/runtime-cluster.js';
export {
  defaultLimits,
  defaultStorePath,
  type RecoverOptions,
  type ResumeOptions,
  type RuntimeConfig,
  type RuntimeTimeouts,
  type StartOptions,
} from './runtime/runtime-config.js';
export {
  boundHistory,
  type Session,
  type SessionCommitOutcome,
  type SessionOptions,
  type SessionRun,
  type SessionRunOptions,
} from './sessions/session.js';
export type { RunEvent, RunEventBase, RunEventBody, RunEventOf, RunPhase } from './streaming/run-event.js';
export {
  formatServerSentEvent,
  lastEventSeq,
  pipeServerSentEvents,
  type ServerSentEventsOptions,
  toServerSentEvents,
} from './streaming/server-sent-events.js';
export { toAsyncIterable } from './streaming/to-async-iterable.js';
export { type AskUserOptions, askUser } from './tools/ask-user.js';
export {
  defineTool,
  type Tool,
  type ToolDefinition,
  type ToolExecutionContext,
} from './tools/define-tool.js';
