import type { IncomingMessage, ServerResponse } from 'node:http';
import { from, lastValueFrom, toArray } from 'rxjs';
import type { Runtime } from '../runtime/runtime.js';
import {
  lastEventSeq,
  pipeServerSentEvents,
  type ServerSentEventsOptions,
} from '../streaming/server-sent-events.js';

const ended = new Set(['done', 'failed', 'cancelled']);

/** What {@link serveRunEvents} takes. */
export interface ServeRunEventsOptions extends ServerSentEventsOptions {
  /** The first seq to send; default: one past the request's `Last-Event-ID` (0 without one). */
  fromSeq?: number;
}

/**
 * Serves a run's events to a Node HTTP response as Server-Sent Events, the way an `EventSource`
 * needs them: from the log, then live, from the client's `Last-Event-ID`. Throws `RUN_NOT_FOUND`
 * for an unknown run before anything is written (answer it with a 404, so that the browser stops
 * instead of reconnecting forever). Once the run has ended and the client has had every event, it
 * answers `204 No Content`, which makes an `EventSource` stop for good.
 *
 * @example
 * ```ts
 * // GET /runs/:id/events
 * try {
 *   await serveRunEvents(runtime, runId, request, response);
 * } catch (error) {
 *   sendJson(response, 404, { error: { code: error.code, message: error.message } });
 * }
 * ```
 */
export async function serveRunEvents(
  runtime: Pick<Runtime, 'status' | 'events'>,
  runId: string,
  request: IncomingMessage,
  response: ServerResponse,
  options: ServeRunEventsOptions = {},
): Promise<void> {
  const fromSeq = options.fromSeq ?? lastEventSeq(request) + 1;
  const { status } = await runtime.status(runId);
  const events$ = runtime.events(runId, { fromSeq });
  if (!ended.has(status)) return pipeServerSentEvents(events$, response, options);
  // An ended run's log is all there is: nothing past the client's last event means it is done.
  const rest = await lastValueFrom(events$.pipe(toArray()));
  if (rest.length === 0) {
    response.writeHead(204);
    response.end();
    return;
  }
  return pipeServerSentEvents(from(rest), response, options);
}
