import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** One response of a {@link startFakeAnthropicServer}: a streamed message, or an HTTP error. */
export interface FakeAnthropicTurn {
  text?: string;
  thinking?: string;
  /** Tool calls; `inputJson` streams this text as the call's input instead of `input` as JSON (to send JSON that is malformed). */
  toolCalls?: { name: string; input?: unknown; inputJson?: string; id?: string }[];
  /**
   * Any stop reason the API has (`end_turn`, `tool_use`, `max_tokens`, `stop_sequence`, `pause_turn`,
   * `refusal`, `model_context_window_exceeded`) or may have one day (any string). Defaults to
   * `tool_use` with tool calls, `end_turn` otherwise. With `max_tokens` and tool calls, the last
   * call's input is cut in half.
   */
  stopReason?: string;
  usage?: {
    inputTokens?: number;
    outputTokens?: number;
    cacheCreationInputTokens?: number;
    cacheReadInputTokens?: number;
  };
  /** Characters per `text_delta`, `thinking_delta` and `input_json_delta`. Default 8. */
  chunkSize?: number;
  /** Wait this long before each SSE event. */
  eventDelayMs?: number;
  /** Answer with this HTTP status and an error body instead of a stream (for example 529, 429, 401). */
  status?: number;
  /** The error `type` and `message` of an HTTP error or of a mid-stream error. */
  error?: { type: string; message: string };
  /** Extra response headers (for example `retry-after-ms`). */
  headers?: Record<string, string>;
  /**
   * Answer 200 (`text/event-stream`, unless `headers` say otherwise) with this body instead of the
   * message's events: `''` is an empty stream, other text a body that is not SSE.
   */
  body?: string;
  /** After this many events: send an SSE `error` event (`error`, default `overloaded_error`) and end. */
  errorAfterEvents?: number;
  /** After this many events: destroy the connection. */
  dropAfterEvents?: number;
  /** After this many events: end the response cleanly, without `message_stop`. */
  endAfterEvents?: number;
  /** After this many events: send nothing more and keep the connection open. */
  stallAfterEvents?: number;
}

/** A request the fake server received. */
export interface FakeAnthropicRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  /** True when the client closed the connection before the response was complete (an abort). */
  closedEarly: boolean;
}

/** A running fake server. */
export interface FakeAnthropicServer {
  /** The base URL to give the SDK (`baseURL`), like `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly requests: FakeAnthropicRequest[];
  close(): Promise<void>;
}

/** A list of responses played in order, or a function of the request body and the request's index. */
export type FakeAnthropicScript =
  | readonly FakeAnthropicTurn[]
  | ((body: Record<string, unknown>, index: number) => FakeAnthropicTurn);

/**
 * Starts a real HTTP server on 127.0.0.1 (random port) that speaks the Anthropic Messages API with
 * Server-Sent Events, so tests drive the real `@anthropic-ai/sdk` over the wire. Like the API, it
 * refuses (400) a request whose `tool_use` input is not an object. It can also fail
 * the ways the real API does: HTTP errors, an `error` event mid-stream, a dropped connection, a
 * stream cut short, one that stalls, or a 200 whose body is empty or not SSE.
 *
 * @example
 * ```ts
 * const server = await startFakeAnthropicServer([{ text: 'Hello!' }]);
 * const model = anthropicModel({ baseURL: server.url, apiKey: 'test' });
 * // ... run, then
 * await server.close();
 * ```
 */
export async function startFakeAnthropicServer(script: FakeAnthropicScript): Promise<FakeAnthropicServer> {
  const requests: FakeAnthropicRequest[] = [];
  const open = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '';
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        return sendError(res, 400, { type: 'invalid_request_error', message: 'Body is not JSON' });
      }
      if (req.method !== 'POST' || !path.startsWith('/v1/messages')) {
        return sendError(res, 404, { type: 'not_found_error', message: `No route ${req.method} ${path}` });
      }
      const index = requests.length;
      const request: FakeAnthropicRequest = {
        method: req.method,
        path,
        headers: req.headers,
        body,
        closedEarly: false,
      };
      requests.push(request);
      const refusal = invalidToolUse(body);
      if (refusal !== undefined)
        return sendError(res, 400, { type: 'invalid_request_error', message: refusal });
      const turn = typeof script === 'function' ? script(body, index) : script[index];
      if (turn === undefined) {
        return sendError(res, 500, {
          type: 'api_error',
          message: `The fake server's script has no response ${index}`,
        });
      }
      open.add(res);
      res.on('close', () => {
        open.delete(res);
        if (!res.writableFinished) request.closedEarly = true;
      });
      void respond(res, turn, String(body.model ?? 'claude')).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** What the API would say of a `tool_use` block whose input is not an object (it refuses such a request), if any. */
function invalidToolUse(body: Record<string, unknown>): string | undefined {
  const messages = Array.isArray(body.messages) ? (body.messages as { content?: unknown }[]) : [];
  for (const [m, message] of messages.entries()) {
    const content = Array.isArray(message.content) ? (message.content as Record<string, unknown>[]) : [];
    for (const [c, block] of content.entries()) {
      const { input } = block;
      if (block.type !== 'tool_use' || (typeof input === 'object' && input !== null && !Array.isArray(input)))
        continue;
      return `messages.${m}.content.${c}.tool_use.input: Input should be a valid dictionary`;
    }
  }
  return undefined;
}

function sendError(
  res: ServerResponse,
  status: number,
  error: { type: string; message: string },
  headers = {},
) {
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': 'req_fake', ...headers });
  res.end(JSON.stringify({ type: 'error', error }));
}

async function respond(res: ServerResponse, turn: FakeAnthropicTurn, model: string): Promise<void> {
  if (turn.status !== undefined && turn.status >= 400) {
    const error = turn.error ?? { type: 'api_error', message: `HTTP ${turn.status}` };
    return sendError(res, turn.status, error, turn.headers);
  }
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    'request-id': 'req_fake',
    ...turn.headers,
  });
  if (turn.body !== undefined) {
    res.end(turn.body);
    return;
  }
  const events = sseEvents(turn, model);
  for (const [sent, event] of events.entries()) {
    if (turn.eventDelayMs !== undefined) await sleep(turn.eventDelayMs);
    if (res.destroyed) return;
    if (sent === turn.errorAfterEvents) {
      const error = turn.error ?? { type: 'overloaded_error', message: 'Overloaded' };
      res.end(`event: error\ndata: ${JSON.stringify({ type: 'error', error })}\n\n`);
      return;
    }
    if (sent === turn.dropAfterEvents) {
      res.destroy();
      return;
    }
    if (sent === turn.endAfterEvents) {
      res.end();
      return;
    }
    if (sent === turn.stallAfterEvents) return;
    res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  }
  res.end();
}

type SseEvent = { type: string } & Record<string, unknown>;

/** The SSE events of a streamed message, in the Messages API's order. */
function sseEvents(turn: FakeAnthropicTurn, model: string): SseEvent[] {
  const size = turn.chunkSize ?? 8;
  const usage = turn.usage ?? {};
  const stopReason = turn.stopReason ?? ((turn.toolCalls?.length ?? 0) > 0 ? 'tool_use' : 'end_turn');
  const events: SseEvent[] = [
    {
      type: 'message_start',
      message: {
        id: `msg_fake_${Math.random().toString(36).slice(2)}`,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: usage.inputTokens ?? 10,
          output_tokens: 1,
          cache_creation_input_tokens: usage.cacheCreationInputTokens ?? 0,
          cache_read_input_tokens: usage.cacheReadInputTokens ?? 0,
        },
      },
    },
    { type: 'ping' },
  ];
  let index = 0;
  const block = (start: Record<string, unknown>, deltas: Record<string, unknown>[]) => {
    events.push({ type: 'content_block_start', index, content_block: start });
    for (const delta of deltas) events.push({ type: 'content_block_delta', index, delta });
    events.push({ type: 'content_block_stop', index });
    index++;
  };
  if (turn.thinking !== undefined) {
    block({ type: 'thinking', thinking: '', signature: '' }, [
      ...chunk(turn.thinking, size).map((thinking) => ({ type: 'thinking_delta', thinking })),
      { type: 'signature_delta', signature: 'sig_fake' },
    ]);
  }
  if (turn.text !== undefined) {
    block(
      { type: 'text', text: '' },
      chunk(turn.text, size).map((text) => ({ type: 'text_delta', text })),
    );
  }
  const calls = turn.toolCalls ?? [];
  for (const [n, call] of calls.entries()) {
    let json = call.inputJson ?? JSON.stringify(call.input ?? {});
    if (stopReason === 'max_tokens' && n === calls.length - 1)
      json = json.slice(0, Math.floor(json.length / 2));
    block(
      { type: 'tool_use', id: call.id ?? `toolu_fake_${n}`, name: call.name, input: {} },
      chunk(json, size).map((partial_json) => ({ type: 'input_json_delta', partial_json })),
    );
  }
  events.push({
    type: 'message_delta',
    delta: { stop_reason: stopReason, stop_sequence: null },
    usage: { output_tokens: usage.outputTokens ?? 20 },
  });
  events.push({ type: 'message_stop' });
  return events;
}

function chunk(text: string, size: number): string[] {
  const pieces: string[] = [];
  for (let at = 0; at < text.length; at += size) pieces.push(text.slice(at, at + size));
  return pieces;
}
