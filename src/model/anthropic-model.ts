import Anthropic from '@anthropic-ai/sdk';
import { AgentchartError } from '../agentchart-error.js';
import { messageOf } from '../message-of.js';
import { classifyAnthropicError } from './anthropic-errors.js';
import { type ApiMessage, toApiContent, toApiMessages, toApiTools } from './anthropic-messages.js';
import { type AttemptResult, type RawStreamEvent, readAnthropicStream } from './anthropic-stream.js';
import type { ContentBlock } from './message.js';
import type { ModelClient, ModelRequest, ModelStreamPart } from './model-client.js';
import { addUsage, emptyUsage } from './usage.js';

/** The model a runtime uses when none is named: a current Claude model. */
export const defaultAnthropicModel = 'claude-sonnet-5-5';

/** What {@link anthropicModel} takes. */
export interface AnthropicModelOptions {
  /** A Claude model id. Defaults to {@link defaultAnthropicModel}. */
  model?: string;
  /** Most tokens one response may have. Default 8192. */
  maxTokens?: number;
  /** A configured SDK client; when omitted one is made from `apiKey` and `baseURL` (or the environment). */
  client?: Anthropic;
  apiKey?: string;
  baseURL?: string;
  /** Extended thinking with this many tokens of budget (less than `maxTokens`). Off by default. */
  thinkingBudgetTokens?: number;
  temperature?: number;
  /** Time allowed until the response headers arrive (the SDK's own `timeout`). Default 600000. */
  requestTimeoutMs?: number;
  /** How many `pause_turn` continuations one turn may take. Default 8. */
  maxContinuations?: number;
}

/**
 * A {@link ModelClient} for Claude, on `@anthropic-ai/sdk` `messages.stream`. It maps the wire: it
 * streams text and thinking deltas, yields each tool call when its input is complete (and a
 * `keep-alive` for any other event, for the runtime's idle watchdog), continues `pause_turn`
 * responses without a user turn, and throws each failure as a `MODEL_ERROR` that says whether it is
 * worth a retry (overloaded, rate-limited, 5xx, dropped or cut-short streams are) and how long the
 * API asked to wait. The SDK's own retries are off: the runtime retries, each retry a `retry` event.
 *
 * @example
 * ```ts
 * import { createRuntime } from 'agentchart';
 * import { anthropicModel } from 'agentchart/anthropic';
 *
 * const runtime = createRuntime({ model: anthropicModel({ model: 'claude-sonnet-5-5', maxTokens: 4096 }) });
 * ```
 */
export function anthropicModel(options: AnthropicModelOptions = {}): ModelClient {
  const modelId = options.model ?? defaultAnthropicModel;
  const maxTokens = positive('maxTokens', options.maxTokens ?? 8192);
  const requestTimeoutMs = positive('requestTimeoutMs', options.requestTimeoutMs ?? 600_000);
  const maxContinuations = nonNegative('maxContinuations', options.maxContinuations ?? 8);
  let client = options.client;
  const getClient = () => {
    client ??= new Anthropic({
      maxRetries: 0,
      ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
      ...(options.baseURL === undefined ? {} : { baseURL: options.baseURL }),
    });
    return client;
  };

  async function* attempt(messages: ApiMessage[], request: ModelRequest, signal: AbortSignal) {
    const controller = new AbortController();
    const abort = () => controller.abort(signal.reason);
    signal.addEventListener('abort', abort, { once: true });
    const params = {
      model: modelId,
      max_tokens: maxTokens,
      messages,
      ...(request.system === undefined ? {} : { system: request.system }),
      ...(request.tools.length === 0 ? {} : { tools: toApiTools(request.tools) }),
      ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
      ...(options.thinkingBudgetTokens === undefined
        ? {}
        : { thinking: { type: 'enabled' as const, budget_tokens: options.thinkingBudgetTokens } }),
    } as Anthropic.MessageStreamParams;
    try {
      const stream = getClient().messages.stream(params, {
        signal: controller.signal,
        maxRetries: 0,
        timeout: requestTimeoutMs,
      });
      return yield* readAnthropicStream(eventsOf(stream));
    } finally {
      signal.removeEventListener('abort', abort);
      controller.abort();
    }
  }

  return {
    modelId,
    /** One attempt at a turn: its failures thrown as classified `MODEL_ERROR`s, for the runtime to retry or not. */
    async *stream(request, { signal }) {
      try {
        yield* continuedTurn(request, signal);
      } catch (thrown) {
        if (signal.aborted) throw aborted();
        throw classifyAnthropicError(thrown);
      }
    },
  };

  /** One turn, continued across `pause_turn` responses, as one finish part. */
  async function* continuedTurn(request: ModelRequest, signal: AbortSignal): AsyncGenerator<ModelStreamPart> {
    let messages = toApiMessages(request.messages);
    const content: ContentBlock[] = [];
    let usage = emptyUsage();
    for (let continuation = 0; ; continuation++) {
      const result: AttemptResult = yield* attempt(messages, request, signal);
      content.push(...result.content);
      usage = addUsage(usage, result.usage);
      if (result.stopReason !== 'pause_turn') {
        const { stopReason, providerStopReason } = result;
        yield {
          type: 'finish',
          stopReason,
          ...(providerStopReason === undefined ? {} : { providerStopReason }),
          content,
          usage,
        };
        return;
      }
      if (continuation >= maxContinuations) {
        throw new AgentchartError({
          code: 'MODEL_ERROR',
          message: `The model paused its turn more than ${maxContinuations} times (maxContinuations)`,
          details: { errorClass: 'model_error', recoverable: false },
        });
      }
      messages = [...messages, { role: 'assistant', content: toApiContent(result.content) }];
    }
  }
}

/**
 * The raw events of a `MessageStream`, throwing its error at the end. Its own iterator ends quietly
 * when an error (such as an SSE `error` event) arrives while no read is pending, so the error
 * listener is what sees it. A 200 response whose body never starts a message (empty, or not SSE)
 * makes the SDK throw an `AnthropicError` of its own, which is not one the API sent: that is a
 * stream that ended early (`MODEL_STREAM_INCOMPLETE`, recoverable), as one cut before `message_stop` is.
 */
async function* eventsOf(
  stream: ReturnType<Anthropic['messages']['stream']>,
): AsyncGenerator<RawStreamEvent> {
  let failure: { error: unknown } | undefined;
  let connected = false;
  let started = false;
  stream.on('connect', () => {
    connected = true;
  });
  stream.on('error', (error: unknown) => {
    failure = { error };
  });
  try {
    for await (const event of stream) {
      if (event.type === 'message_start') started = true;
      yield event as RawStreamEvent;
    }
  } catch (error) {
    failure ??= { error };
  }
  if (failure === undefined) return;
  if (connected && !started && !(failure.error instanceof Anthropic.APIError)) {
    throw new AgentchartError({
      code: 'MODEL_STREAM_INCOMPLETE',
      message: `The response stream ended before a message started: ${messageOf(failure.error)}`,
      details: { errorClass: 'network', recoverable: true },
      cause: failure.error,
    });
  }
  throw failure.error;
}

function aborted(): AgentchartError {
  return new AgentchartError({ code: 'ABORTED', message: 'The model turn was aborted' });
}

function positive(name: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new AgentchartError({
      code: 'INVALID_ARGUMENT',
      message: `anthropicModel: ${name} must be a positive number, got ${value}`,
    });
  }
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!(Number.isFinite(value) && value >= 0)) {
    throw new AgentchartError({
      code: 'INVALID_ARGUMENT',
      message: `anthropicModel: ${name} must be zero or more, got ${value}`,
    });
  }
  return value;
}
