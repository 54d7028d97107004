import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Observable } from 'rxjs';
import { AgentchartError } from '../agentchart-error.js';
import { messageOf } from '../message-of.js';
import type { RunEvent } from './run-event.js';

/** Options of {@link toServerSentEvents} and {@link pipeServerSentEvents}. */
export interface ServerSentEventsOptions {
  /** A comment line is sent after this long without an event, so proxies keep the connection. Default 15,000 ms. */
  heartbeatMs?: number;
  /** The reconnection delay suggested to the browser (`retry:`), if given. */
  retryMs?: number;
}

const encoder = new TextEncoder();

/** One event in the SSE format: `id:` is its seq, `event:` its type, `data:` the event as JSON. */
export function formatServerSentEvent(event: RunEvent): string {
  return `id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/**
 * The error an event stream ended with, as a last SSE `run-error` event (not `error`: an
 * `EventSource` fires its own `error` event on every disconnect).
 */
function formatError(error: unknown): string {
  const code = AgentchartError.isInstance(error) ? error.code : 'INTERNAL';
  const message = messageOf(error);
  return `event: run-error\ndata: ${JSON.stringify({ code, message })}\n\n`;
}

/**
 * Turns run events (a handle's `events$`, or `runtime.events(runId, { fromSeq })`) into a web
 * `ReadableStream` of Server-Sent Events, ready to be a `Response` body. Sends a heartbeat comment
 * while idle; closes after `run-end`; ends with a `run-error` event (`{ code, message }`) if the
 * events fail. Cancelling the stream unsubscribes.
 *
 * @example
 * ```ts
 * return new Response(toServerSentEvents(runtime.events(runId, { fromSeq })), {
 *   headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
 * });
 * ```
 */
export function toServerSentEvents(
  events$: Observable<RunEvent>,
  options: ServerSentEventsOptions = {},
): ReadableStream<Uint8Array> {
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  let stop = () => {};
  return new ReadableStream<Uint8Array>({
    start(controller) {
      let open = true;
      let heartbeat: NodeJS.Timeout | undefined;
      const send = (text: string) => {
        if (open) controller.enqueue(encoder.encode(text));
      };
      const beat = () => {
        clearTimeout(heartbeat);
        heartbeat = setTimeout(() => {
          send(': heartbeat\n\n');
          beat();
        }, heartbeatMs);
        heartbeat.unref?.();
      };
      const close = () => {
        clearTimeout(heartbeat);
        if (!open) return;
        open = false;
        controller.close();
      };
      if (options.retryMs !== undefined) send(`retry: ${options.retryMs}\n\n`);
      beat();
      const subscription = events$.subscribe({
        next: (event) => {
          send(formatServerSentEvent(event));
          beat();
        },
        error: (error: unknown) => {
          send(formatError(error));
          close();
        },
        complete: close,
      });
      stop = () => {
        open = false;
        clearTimeout(heartbeat);
        subscription.unsubscribe();
      };
    },
    cancel() {
      stop();
    },
  });
}

/**
 * Streams run events to a Node `http.ServerResponse` as Server-Sent Events (status 200 and the
 * SSE headers), and stops following them when the client goes away. Resolves when the response
 * is finished, either way.
 *
 * @example
 * ```ts
 * const fromSeq = lastEventSeq(request) + 1; // 0 without a Last-Event-ID
 * await pipeServerSentEvents(runtime.events(runId, { fromSeq }), response);
 * ```
 */
export async function pipeServerSentEvents(
  events$: Observable<RunEvent>,
  response: ServerResponse,
  options: ServerSentEventsOptions = {},
): Promise<void> {
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  response.flushHeaders();
  const reader = toServerSentEvents(events$, options).getReader();
  const gone = () => void reader.cancel().catch(() => {});
  response.on('close', gone);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || response.destroyed) break;
      response.write(value);
    }
  } finally {
    response.off('close', gone);
    if (!response.writableEnded) response.end();
  }
}

/**
 * The seq in a request's `Last-Event-ID` header (sent by a reconnecting `EventSource`), or -1
 * without one; resume with `fromSeq: lastEventSeq(request) + 1`. `INVALID_ARGUMENT` if it is not
 * a non-negative integer.
 */
export function lastEventSeq(request: Pick<IncomingMessage, 'headers'>): number {
  const header = request.headers['last-event-id'];
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return -1;
  if (!/^\d+$/.test(value.trim())) {
    throw new AgentchartError({
      code: 'INVALID_ARGUMENT',
      message: `Last-Event-ID must be an event's seq (a non-negative integer), got '${value}'`,
    });
  }
  return Number(value.trim());
}
