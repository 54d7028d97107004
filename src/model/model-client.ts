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
 * Why a turn ended, in words of no one provider (declared once: types and schemas derive from it).
 * `end_turn` and `stop_sequence`: the model answered. `tool_use`: it wants its tool calls run.
 * `max_tokens`: it was cut off at its output limit (its tool calls must not run). `refusal`: it
 * declined. `context_window_exceeded`: the conversation no longer fits the model's context window.
 * `other`: a reason agentchart has no name for (a provider's newer one), which fails the run. A
 * provider's own continuations (Anthropic's `pause_turn`) are handled inside its client.
 */
export const stopReasons = [
  'end_turn',
  'tool_use',
  'max_tokens',
  'stop_sequence',
  'refusal',
  'context_window_exceeded',
  'other',
] as const;

/** Why a turn ended: one of {@link stopReasons}. */
export type StopReason = (typeof stopReasons)[number];

/** The last part of a turn: its whole content, why it stopped, and what it used. */
export interface ModelFinishPart {
  type: 'finish';
  stopReason: StopReason;
  /** The provider's own word for why the turn ended, where it differs from `stopReason` (for `other`, the only account of it). */
  providerStopReason?: string;
  content: ContentBlock[];
  usage: Usage;
}

/**
 * What a model client yields while a turn streams. After a `retry` part, everything yielded since
 * the turn began is void: the attempt failed and the turn starts over. A `tool-call` part says a
 * call's input is complete; the runtime announces calls from the `finish` part, and only when the
 * turn ends with `tool_use` (the calls that will run). A `keep-alive` part says the provider sent
 * something that is no output yet (a piece of a tool call's input, a block boundary): it resets the
 * idle-stream watchdog and is otherwise ignored.
 */
export type ModelStreamPart =
  | { type: 'text-delta'; text: string }
  | { type: 'thinking-delta'; thinking: string }
  | { type: 'tool-call'; toolCallId: string; toolName: string; input: unknown }
  | { type: 'retry'; attempt: number; delayMs: number; errorClass: ErrorClass; message: string }
  | { type: 'keep-alive' }
  | ModelFinishPart;

/**
 * What a client gets with each attempt at a turn: only the signal. Retries, backoff and the
 * idle-stream watchdog are the runtime's (its `retry` and `timeouts.idleStreamMs`): it calls
 * `stream` again for each attempt, and aborts the signal of an attempt that went silent.
 */
export interface ModelStreamOptions {
  /**
   * Aborts the attempt: the run was cancelled or paused, or the stream sent nothing for
   * `timeouts.idleStreamMs`. The client stops reading and ends its iteration (by throwing or returning).
   */
  signal: AbortSignal;
}

/**
 * The one interface a model provider implements. `stream` makes one attempt at a turn: it yields
 * text and thinking deltas and complete tool calls as they arrive, and ends with one `finish` part.
 * It throws a failure as an `AgentchartError` with code `MODEL_ERROR` whose details carry
 * `errorClass`, `recoverable` (worth another attempt) and, when the provider asked for a wait,
 * `retryAfterMs`. The runtime retries the recoverable ones (with backoff, up to its `retry` policy)
 * and watches for a stream that goes silent, so a client only maps its provider's wire.
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
