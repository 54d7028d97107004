import type { ErrorClass } from '../run-error.js';
import type { ContentBlock, Message } from './message.js';
import type { Usage } from './usage.js';

/** A tool as the model sees it: its name, what it does, and the JSON schema of its input. */
export interface ToolSpec {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

/** One model turn to stream: the conversation so far and the tools the model may call. */
export interface ModelRequest {
  system?: string;
  messages: readonly Message[];
  tools: readonly ToolSpec[];
}

/**
 * Why a turn ended. `tool_use`: the model wants its tool calls run. `max_tokens`: it was cut off
 * (its tool calls must not run). `refusal`: it declined. `pause_turn` is handled inside a client.
 */
export type StopReason = 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence' | 'refusal';

/** The last part of a turn: its whole content, why it stopped, and what it used. */
export interface ModelFinishPart {
  type: 'finish';
  stopReason: StopReason;
  content: ContentBlock[];
  usage: Usage;
}

/**
 * What a model client yields while a turn streams. After a `retry` part, everything yielded since
 * the turn began is void: the attempt failed and the turn starts over.
 */
export type ModelStreamPart =
  | { type: 'text-delta'; text: string }
  | { type: 'thinking-delta'; thinking: string }
  | { type: 'tool-call'; toolCallId: string; toolName: string; input: unknown }
  | { type: 'retry'; attempt: number; delayMs: number; errorClass: ErrorClass; message: string }
  | ModelFinishPart;

/** Options of one streamed turn. */
export interface ModelStreamOptions {
  /** Aborts the turn; the client stops reading and ends its iteration (by throwing or returning). */
  signal: AbortSignal;
  /** When set (the runtime's `timeouts.idleStreamMs`), a stream that sends nothing for this long is aborted and retried. */
  idleTimeoutMs?: number;
}

/**
 * The one interface a model provider implements. `stream` yields text and thinking deltas and
 * complete tool calls as they arrive, and ends with one `finish` part. Failures are thrown as an
 * `AgentchartError` with code `MODEL_ERROR` whose details carry `errorClass` and `recoverable`.
 *
 * @example
 * ```ts
 * const model: ModelClient = {
 *   modelId: 'echo',
 *   async *stream(request) {
 *     const text = 'hello';
 *     yield { type: 'text-delta', text };
 *     yield { type: 'finish', stopReason: 'end_turn', content: [{ type: 'text', text }], usage: emptyUsage() };
 *   },
 * };
 * ```
 */
export interface ModelClient {
  /** The model's id, as the provider names it. */
  readonly modelId: string;
  stream(request: ModelRequest, options: ModelStreamOptions): AsyncIterable<ModelStreamPart>;
}
