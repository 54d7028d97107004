import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AgentchartError,
  type CheckpointStore,
  createRuntime,
  defineTool,
  memoryStore,
  type RunEvent,
  type Runtime,
} from 'agentchart';
import { levelStore } from 'agentchart/level';
import { type Script, scriptedModel } from 'agentchart/testing';
import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { collect, gate, nextEvent, sendTool } from './helpers.js';

const double = defineTool({
  name: 'double',
  description: 'Doubles a number',
  input: z.object({ n: z.number() }),
  execute: ({ n }) => n * 2,
});

/** Thinks, calls a tool, then answers in many small deltas. */
const script: Script = (request) =>
  request.messages.length === 1
    ? { thinking: 'Let me double it.', toolCalls: [{ name: 'double', input: { n: 21 } }], tokenDelayMs: 1 }
    : { text: 'Twice twenty-one is forty-two, as the tool says.', tokenDelayMs: 1 };

const isDelta = (event: RunEvent) => event.type === 'text-delta' || event.type === 'thinking-delta';
const textOf = (events: readonly RunEvent[]) =>
  events
    .map((event) =>
      event.type === 'text-delta' ? event.text : event.type === 'thinking-delta' ? event.thinking : '',
    )
    .join('');
const whole = (events: readonly RunEvent[]) => events.filter((event) => !isDelta(event));
/** Waits until the store's log of the run holds its last event (the log is written in the background). */
async function written(store: CheckpointStore, runId: string, events: readonly RunEvent[]) {
  const last = events.at(-1)?.seq ?? 0;
  while ((await store.readEvents(runId, last)).length === 0)
    await new Promise((resolve) => setTimeout(resolve, 2));
}
const replay = (runtime: Runtime, runId: string, fromSeq?: number) =>
  lastValueFrom(runtime.events(runId, fromSeq === undefined ? {} : { fromSeq }).pipe(toArray()));

describe('the event log', () => {
  it('replays a finished run: every event once, token deltas coalesced per content block', async () => {
    const store = memoryStore();
    const runtime = createRuntime({ model: scriptedModel(script), tools: [double], store });
    const live = await collect(runtime.start({ input: 'Double 21', runId: 'r1' }));
    await written(store, 'r1', live);
    const logged = await replay(runtime, 'r1');
    expect(whole(logged)).toEqual(whole(live));
    expect(textOf(logged)).toBe(textOf(live));
    expect(logged.filter(isDelta).map((event) => event.type)).toEqual(['thinking-delta', 'text-delta']);
    expect(live.filter(isDelta).length).toBeGreaterThan(4);
    // In seq order, each once.
    const seqs = logged.map((event) => event.seq);
    expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
    await runtime.close();
  });

  it('starts anywhere, even inside a block of deltas, with the rest of its text', async () => {
    const store = memoryStore();
    const runtime = createRuntime({ model: scriptedModel(script), tools: [double], store });
    const live = await collect(runtime.start({ input: 'Double 21', runId: 'r2' }));
    await written(store, 'r2', live);
    const textDeltas = live.filter((event) => event.type === 'text-delta');
    expect(textDeltas.length).toBeGreaterThan(2);
    const middle = textDeltas[1] as RunEvent;
    const from = await replay(runtime, 'r2', middle.seq);
    const expected = live.filter((event) => event.seq >= middle.seq);
    expect(whole(from)).toEqual(whole(expected));
    expect(textOf(from)).toBe(textOf(expected));
    expect(from[0]?.type).toBe('text-delta');
    await runtime.close();
  });

  it('gives a reader that arrives mid-run the past from the log and the rest live, with no gap and no duplicate', async () => {
    const runtime = createRuntime({ model: scriptedModel(script), tools: [double], store: memoryStore() });
    const run = runtime.start({ input: 'Double 21', runId: 'r3' });
    const livePromise = collect(run);
    // Join once the tool has run and the answer is streaming.
    await new Promise<void>((resolve) =>
      run.events$.subscribe((event) => event.type === 'text-delta' && event.text.includes('is') && resolve()),
    );
    const late = await replay(runtime, 'r3');
    const live = await livePromise;
    expect(whole(late)).toEqual(whole(live));
    expect(textOf(late)).toBe(textOf(live));
    await runtime.close();
  });

  it('serves a reader that subscribes the moment a run starts, before it is in the store', async () => {
    for (const store of [
      memoryStore(),
      await levelStore({ path: mkdtempSync(join(tmpdir(), 'agentchart-events-')) }),
    ]) {
      const runtime = createRuntime({ model: scriptedModel(script), tools: [double], store });
      for (let attempt = 0; attempt < 25; attempt++) {
        const run = runtime.start({ input: 'Double 21', runId: `early-${attempt}` });
        const [early, live] = await Promise.all([replay(runtime, run.id), collect(run)]);
        expect(whole(early)).toEqual(whole(live));
      }
      await runtime.close();
      await store.close();
    }
  });

  it('keeps at most maxEvents per run, the newest', async () => {
    const store = memoryStore();
    const runtime = createRuntime({
      model: scriptedModel(script),
      tools: [double],
      store,
      eventLog: { maxEvents: 4 },
    });
    const live = await collect(runtime.start({ input: 'Double 21', runId: 'r4' }));
    await written(store, 'r4', live);
    const logged = await replay(runtime, 'r4');
    expect(logged).toHaveLength(4);
    expect(logged.at(-1)?.type).toBe('run-end');
    expect(whole(logged)).toEqual(whole(live).slice(-whole(logged).length));
    await runtime.close();
  });

  it('keeps the first 1,000 characters of a long input in the logged run-start', async () => {
    const store = memoryStore();
    const runtime = createRuntime({ model: scriptedModel([{ text: 'ok' }]), store });
    const input = 'x'.repeat(5_000);
    const live = await collect(runtime.start({ input, runId: 'long' }));
    await written(store, 'long', live);
    const [start] = await replay(runtime, 'long');
    expect(start).toMatchObject({ type: 'run-start', input: input.slice(0, 1_000), inputTruncated: true });
    expect(live[0]).toMatchObject({ type: 'run-start', input });
    await runtime.close();
  });

  it('with eventLog: false keeps no log: a reader gets only what happens after it subscribes', async () => {
    const store = memoryStore();
    const runtime = createRuntime({ model: scriptedModel(script), tools: [double], store, eventLog: false });
    const run = runtime.start({ input: 'Double 21', runId: 'unlogged' });
    await new Promise<void>((resolve) =>
      run.events$.subscribe((event) => event.type === 'tool-result' && resolve()),
    );
    const late = await replay(runtime, 'unlogged');
    expect(late[0]?.type).not.toBe('run-start');
    expect(late.at(-1)?.type).toBe('run-end');
    expect(await store.readEvents('unlogged')).toEqual([]);
    expect(await replay(runtime, 'unlogged')).toEqual([]);
    await runtime.close();
  });

  it('completes at once for a reader that already has the end, while the log is still being written', async () => {
    const runtime = createRuntime({ model: scriptedModel(script), tools: [double], store: memoryStore() });
    const run = runtime.start({ input: 'Double 21', runId: 'caught-up' });
    const events = await collect(run);
    // The log writes in batches: its last events are not in the store yet.
    expect(await replay(runtime, 'caught-up', (events.at(-1)?.seq ?? 0) + 1)).toEqual([]);
    await runtime.close();
  });

  it('errors with RUN_NOT_FOUND for an unknown run, and refuses a bad fromSeq', async () => {
    const runtime = createRuntime({ model: scriptedModel(script), store: memoryStore() });
    await expect(replay(runtime, 'nope')).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' });
    expect(() => runtime.events('r', { fromSeq: -1 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    await runtime.close();
  });
});

describe('the event log across a restart', () => {
  it('numbers on where the last process stopped, and a reader follows a parked run until it ends', async () => {
    const path = mkdtempSync(join(tmpdir(), 'agentchart-events-'));
    const send = sendTool();
    const model = () =>
      scriptedModel((request) =>
        request.messages.length === 1
          ? { toolCalls: [{ name: 'send', input: {} }] }
          : { text: 'Sent it.', tokenDelayMs: 1 },
      );
    let store = await levelStore({ path });
    let runtime = createRuntime({ model: model(), tools: [send], store });
    const run = runtime.start({ input: 'Send it', runId: 'parked' });
    const waitingCheckpoint = nextEvent(
      run,
      (event) => event.type === 'checkpoint' && event.phase === 'waiting_input',
    );
    const before: RunEvent[] = [];
    const request = await new Promise<{ requestId: string }>((resolve) =>
      run.events$.subscribe((event) => {
        before.push(event);
        if (event.type === 'input-request') resolve(event.request);
      }),
    );
    // The checkpoint of the waiting state goes out too.
    await waitingCheckpoint;
    await runtime.close();
    await store.close();

    store = await levelStore({ path });
    runtime = createRuntime({ model: model(), tools: [send], store });
    const following = replay(runtime, 'parked', 1);
    await runtime.approve('parked', request.requestId);
    const after = await following;
    const seqs = after.map((event) => event.seq);
    expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
    expect(seqs[0]).toBe(1);
    // What the first process logged, then the second process's events numbered after them.
    const firstProcess = before.filter((event) => event.seq >= 1 && event.type !== 'run-end');
    expect(after.slice(0, firstProcess.length)).toEqual(firstProcess);
    const rest = after.slice(firstProcess.length);
    // Numbered from seqs no process handed out before: past what the first process logged (a gap is fine).
    expect(rest[0]?.type).toBe('run-start');
    expect(rest[0]?.seq).toBeGreaterThan(before.at(-1)?.seq ?? 0);
    expect(rest.at(-1)).toMatchObject({ type: 'run-end', result: { status: 'done', output: 'Sent it.' } });
    expect(rest.some((event) => event.type === 'tool-result' && event.toolName === 'send')).toBe(true);
    await runtime.close();
    await store.close();
  });
});

describe('a store that fails to reserve more event seqs', () => {
  /**
   * The store of `path` in an outage that starts when a run asks it for more seqs: that reservation
   * fails when the test opens `failReservation`, and every write fails from the moment it was asked.
   */
  async function storeInOutage(path: string) {
    const inner = await levelStore({ path });
    const failReservation = gate();
    let down = false;
    const refused = (what: string) =>
      new AgentchartError({ code: 'STORE_ERROR', message: `The store is down (${what})` });
    const store: CheckpointStore = { ...inner };
    const writes = ['appendCheckpoint', 'setRunStatus', 'appendEvents', 'putToolResult'] as const;
    for (const name of writes) {
      const write = inner[name] as (...args: unknown[]) => Promise<unknown>;
      Object.assign(store, {
        [name]: (...args: unknown[]) => (down ? Promise.reject(refused(name)) : write(...args)),
      });
    }
    store.reserveEventSeqs = async () => {
      down = true;
      await failReservation.promise;
      throw refused('reserveEventSeqs');
    };
    return { inner, store, failReservation };
  }

  it('hands out no seq it has not reserved: the run stops numbering events, and its resume numbers past all it sent', async () => {
    const path = mkdtempSync(join(tmpdir(), 'agentchart-events-'));
    const { inner, store, failReservation } = await storeInOutage(path);
    // 1,500 deltas of 16 characters: more events than the first range (1,024 seqs) holds.
    const text = Array.from({ length: 1500 }, (_, index) => String(index).padStart(16, '.')).join('');
    const model = () => scriptedModel(() => ({ text }));
    const first = createRuntime({ model: model(), store });
    const run = first.start({ input: 'Talk at length', runId: 'long' });
    const sent: RunEvent[] = [];
    const completed = new Promise<void>((resolve) =>
      run.events$.subscribe({
        next: (event) => {
          sent.push(event);
          // The run has used every seq reserved with its record: the reservation it waits for fails.
          if (event.seq === 1023) failReservation.open();
        },
        complete: resolve,
      }),
    );
    expect(await run.result).toMatchObject({ status: 'failed', error: { errorClass: 'store_error' } });
    await completed;
    // Every seq it reserved, once each, and none past them: the rest of its events (its run-end too) did not go out.
    expect(sent.map((event) => event.seq)).toEqual(Array.from({ length: 1024 }, (_, seq) => seq));
    await first.close();

    // The store holds the run as running (its failed end could not be written): it is resumed.
    const second = createRuntime({ model: model(), store: inner });
    const resumed = await second.resume('long');
    const after = await collect(resumed);
    expect(await resumed.result).toMatchObject({ status: 'done', output: text });
    expect(after[0]?.type).toBe('run-start');
    expect(Math.min(...after.map((event) => event.seq))).toBeGreaterThan(1023);
    await second.close();
    await inner.close();
  });
});
