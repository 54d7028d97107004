import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService } from '../examples/server.js';

type Service = Awaited<ReturnType<typeof startService>>;
interface SseEvent {
  id: number | undefined;
  event: string;
  data: Record<string, unknown>;
}

let service: Service;
beforeAll(async () => {
  service = await startService({
    port: 0,
    storePath: mkdtempSync(join(tmpdir(), 'agentchart-server-')),
    tokenDelayMs: 5,
    cors: { origins: ['http://allowed.example'] },
  });
});
afterAll(async () => {
  await service.close();
});

/** A JSON reply of the service: a run's status, a result, a fork, or an error. */
interface Reply {
  runId: string;
  error: { code: string; message: string };
  [field: string]: unknown;
}

/** A field of the last event's data, as a string. */
const lastField = (events: SseEvent[], key: 'result' | 'request', field: string) =>
  String(((events.at(-1)?.data[key] ?? {}) as Record<string, unknown>)[field]);

async function call(method: string, path: string, body?: unknown) {
  const response = await fetch(service.url + path, {
    method,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Reply };
}

/**
 * Reads SSE events from `path` until `stop` says so (then disconnects) or the stream ends.
 * `lastEventId` is sent as the Last-Event-ID header, as a reconnecting EventSource does.
 */
async function follow(
  path: string,
  options: { lastEventId?: number; stop?: (events: SseEvent[]) => boolean } = {},
) {
  const controller = new AbortController();
  const response = await fetch(service.url + path, {
    signal: controller.signal,
    headers: options.lastEventId === undefined ? {} : { 'last-event-id': String(options.lastEventId) },
  });
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
        const fields = Object.fromEntries(
          frame
            .split('\n')
            .filter((line) => !line.startsWith(':'))
            .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]),
        );
        if (fields.event === undefined) continue;
        events.push({
          id: fields.id === undefined ? undefined : Number(fields.id),
          event: fields.event,
          data: JSON.parse(fields.data ?? '{}'),
        });
        if (options.stop?.(events)) {
          controller.abort();
          return events;
        }
      }
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  }
  return events;
}

const textOf = (events: SseEvent[]) =>
  events.map((event) => (event.event === 'text-delta' ? String(event.data.text) : '')).join('');

describe('the example service', () => {
  it('streams a run over SSE; a client that disconnects and reconnects with Last-Event-ID gets every event once', async () => {
    const started = await call('POST', '/runs', { input: 'Hello there' });
    expect(started.status).toBe(201);
    const runId = started.body.runId as string;
    // Disconnect in the middle of the answer.
    const first = await follow(`/runs/${runId}/events`, {
      stop: (events) => events.filter((event) => event.event === 'text-delta').length === 3,
    });
    const lastId = first.at(-1)?.id ?? -1;
    expect(lastId).toBeGreaterThan(0);
    const second = await follow(`/runs/${runId}/events`, { lastEventId: lastId });
    const all = [...first, ...second];
    const ids = all.map((event) => event.id);
    expect(ids).toEqual([...new Set(ids)].sort((a, b) => (a ?? 0) - (b ?? 0)));
    expect(second[0]?.id).toBeGreaterThan(lastId);
    expect(all.at(-1)).toMatchObject({ event: 'run-end', data: { result: { status: 'done' } } });
    const output = lastField(all, 'result', 'output');
    expect(textOf(all)).toBe(output);
    expect(all.map((event) => event.event)).toEqual(
      expect.arrayContaining(['run-start', 'phase', 'checkpoint', 'usage']),
    );
    // Once it is over, the whole run replays from the log.
    const replayed = await follow(`/runs/${runId}/events`);
    expect(replayed.filter((event) => event.event !== 'text-delta')).toEqual(
      all.filter((event) => event.event !== 'text-delta'),
    );
    expect(textOf(replayed)).toBe(output);
    expect((await call('GET', `/runs/${runId}`)).body).toMatchObject({ runId, status: 'done' });
  });

  it('takes an approval, and answers a question, by request id', async () => {
    const email = (await call('POST', '/runs', { input: 'Please email me the notes', runId: 'email-1' }))
      .body;
    const asked = await follow(`/runs/${email.runId}/events`, {
      stop: (events) => events.some((e) => e.event === 'input-request'),
    });
    const request = asked.find((event) => event.event === 'input-request')?.data.request as {
      requestId: string;
    };
    expect((await call('GET', '/runs/email-1')).body).toMatchObject({
      status: 'waiting_input',
      phase: 'waiting_input',
    });
    const approved = await call('POST', `/runs/email-1/requests/${request.requestId}`, { approved: true });
    expect(approved.status).toBe(200);
    const rest = await follow('/runs/email-1/events', { lastEventId: asked.at(-1)?.id ?? 0 });
    expect(rest.find((event) => event.event === 'tool-result')?.data).toMatchObject({
      toolName: 'send_email',
      output: { sent: 'Please email me the notes' },
    });

    await call('POST', '/runs', { input: 'ask me something', runId: 'ask-1' });
    const question = await follow('/runs/ask-1/events', {
      stop: (events) => events.some((e) => e.event === 'input-request'),
    });
    const requestId = lastField(question, 'request', 'requestId');
    expect((await call('POST', `/runs/ask-1/requests/${requestId}`, { answer: '' })).body.error.code).toBe(
      'INPUT_INVALID',
    );
    expect((await call('POST', `/runs/ask-1/requests/${requestId}`, { answer: 'Ada' })).status).toBe(200);
    const end = await follow('/runs/ask-1/events', { lastEventId: question.at(-1)?.id ?? 0 });
    expect(end.at(-1)).toMatchObject({ event: 'run-end', data: { result: { status: 'done' } } });
  });

  it('pauses, resumes and cancels (the first reason wins)', async () => {
    await call('POST', '/runs', { input: 'A long one', runId: 'ctl-1' });
    await follow('/runs/ctl-1/events', { stop: (events) => events.some((e) => e.event === 'text-delta') });
    expect((await call('POST', '/runs/ctl-1/pause')).body).toMatchObject({ status: 'paused' });
    expect((await call('POST', '/runs/ctl-1/resume')).status).toBe(200);
    const cancelled = await call('POST', '/runs/ctl-1/cancel', { reason: 'user left' });
    expect(cancelled.body).toMatchObject({
      status: 'cancelled',
      error: { details: { reason: 'user left' } },
    });
    expect((await call('POST', '/runs/ctl-1/cancel', { reason: 'second' })).status).toBe(409);
  });

  it('lists checkpoints and forks one into a new run', async () => {
    await call('POST', '/runs', { input: 'Original question', runId: 'base-1' });
    await follow('/runs/base-1/events');
    const list = await call('GET', '/runs/base-1/checkpoints?limit=50');
    expect(list.status).toBe(200);
    const checkpoints = list.body as unknown as { id: string; stepNum: number }[];
    expect(checkpoints.length).toBeGreaterThan(1);
    const first = checkpoints.find((checkpoint) => checkpoint.stepNum === 0) as { id: string };
    const fork = await call('POST', `/checkpoints/${first.id}/fork`, { input: 'Another question' });
    expect(fork.status).toBe(201);
    const events = await follow(`/runs/${fork.body.runId}/events`);
    expect(lastField(events, 'result', 'output')).toContain('You said: Another question.');
  });

  it('answers bad requests with JSON errors, codes and statuses', async () => {
    expect(await call('POST', '/runs', '{not json')).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_JSON' } },
    });
    expect(await call('POST', '/runs', { input: '' })).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_ARGUMENT' } },
    });
    expect(await call('POST', '/runs', { input: 'x', extra: 1 })).toMatchObject({ status: 400 });
    expect(await call('GET', '/runs/nope')).toMatchObject({
      status: 404,
      body: { error: { code: 'RUN_NOT_FOUND' } },
    });
    expect(await call('GET', '/runs/nope/checkpoints')).toMatchObject({ status: 404 });
    expect(await call('POST', '/checkpoints/nope@0/fork', {})).toMatchObject({
      status: 404,
      body: { error: { code: 'CHECKPOINT_NOT_FOUND' } },
    });
    expect(await call('GET', '/elsewhere')).toMatchObject({
      status: 404,
      body: { error: { code: 'NOT_FOUND' } },
    });
    // An unknown run is a 404 (an EventSource stops), not a stream that ends in an error event.
    const events = await fetch(`${service.url}/runs/nope/events`);
    expect(events.status).toBe(404);
    expect(await events.json()).toMatchObject({ error: { code: 'RUN_NOT_FOUND' } });
    const badId = await fetch(`${service.url}/runs/x/events`, { headers: { 'last-event-id': 'abc' } });
    expect(badId.status).toBe(400);
    // A bad percent-encoding in the path is the client's mistake.
    expect(await call('GET', '/runs/%E0%A4%A/events')).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_ARGUMENT' } },
    });
  });

  it('refuses a run id the store holds with 409 DUPLICATE_RUN_ID, starting nothing', async () => {
    expect((await call('POST', '/runs', { input: 'first', runId: 'twice' })).status).toBe(201);
    await follow('/runs/twice/events');
    expect(await call('POST', '/runs', { input: 'second', runId: 'twice' })).toMatchObject({
      status: 409,
      body: { error: { code: 'DUPLICATE_RUN_ID' } },
    });
    expect(lastField(await follow('/runs/twice/events'), 'result', 'output')).toContain('first');
  });

  it('answers 204 to a client that has every event of a run that ended, so EventSource stops', async () => {
    await call('POST', '/runs', { input: 'Short', runId: 'over' });
    const all = await follow('/runs/over/events');
    const last = all.at(-1)?.id ?? 0;
    const again = await fetch(`${service.url}/runs/over/events`, {
      headers: { 'last-event-id': String(last) },
    });
    expect(again.status).toBe(204);
    // One event short, it gets that event.
    const rest = await follow('/runs/over/events', { lastEventId: last - 1 });
    expect(rest.map((event) => event.event)).toEqual(['run-end']);
  });

  it('lets allowed origins in with CORS, preflight included, and no others', async () => {
    const preflight = (origin: string) =>
      fetch(`${service.url}/runs`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      });
    const allowed = await preflight('http://allowed.example');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://allowed.example');
    expect(allowed.headers.get('access-control-allow-headers')).toContain('last-event-id');
    expect((await preflight('http://evil.example')).status).toBe(403);
    const get = await fetch(`${service.url}/runs/nope`, { headers: { origin: 'http://allowed.example' } });
    expect(get.headers.get('access-control-allow-origin')).toBe('http://allowed.example');
    const other = await fetch(`${service.url}/runs/nope`, { headers: { origin: 'http://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
