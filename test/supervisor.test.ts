import { createRuntime, memoryStore } from 'agentchart';
import { scriptedModel } from 'agentchart/testing';
import { describe, expect, it } from 'vitest';
import { sendTool } from './helpers.js';

const slow = scriptedModel(() => ({ text: 'a slow answer, piece by piece', tokenDelayMs: 20 }));

describe('the supervisor', () => {
  it('owns the runs as children, by run id, and reports them', async () => {
    const runtime = createRuntime({ model: slow, store: memoryStore() });
    const runs = [
      runtime.start({ input: 'a', runId: 'run-a' }),
      runtime.start({ input: 'b', runId: 'run-b' }),
    ];
    const supervisor = runtime.supervisor;
    // Each run's system id is its run id (its actor id is a reused `run-N`).
    expect(Object.values(supervisor.getSnapshot().children)).toHaveLength(2);
    expect(supervisor.system.get('run-a')).toBe(runs[0]?.actor);
    expect(supervisor.system.get('run-b')).toBe(runs[1]?.actor);
    expect(Object.keys(supervisor.getSnapshot().context.runs).sort()).toEqual(['run-a', 'run-b']);
    await Promise.all(runs.map((run) => run.result));
    const { context } = supervisor.getSnapshot();
    expect(context.runs).toEqual({});
    expect(context.totals).toEqual({ spawned: 2, ended: 2, stopped: 0, crashed: 0 });
    expect(context.recent).toEqual(
      expect.arrayContaining([
        { runId: 'run-a', status: 'ended', detail: 'done' },
        { runId: 'run-b', status: 'ended', detail: 'done' },
      ]),
    );
    expect(supervisor.getSnapshot().children).toEqual({});
    await runtime.close();
    expect(supervisor.getSnapshot().status).toBe('stopped');
  });

  it('reuses the actor ids of runs that left, so a long-lived runtime does not grow', async () => {
    // XState keeps what it worked out for each event type it saw; one child id per run would leave
    // an `xstate.done.actor.<id>` behind for every run.
    const runtime = createRuntime({
      model: scriptedModel([{ text: 'hi' }, { text: 'hi' }, { text: 'hi' }]),
      store: memoryStore(),
    });
    const ids: string[] = [];
    for (const runId of ['one', 'two', 'three']) {
      const run = runtime.start({ input: 'x', runId });
      ids.push(run.actor.id);
      await run.result;
    }
    expect(new Set(ids).size).toBe(1);
    expect(runtime.supervisor.getSnapshot().context.freeChildIds).toEqual(ids.slice(0, 1));
    await runtime.close();
  });

  it('stops a run at once, and spawns it again from its checkpoint', async () => {
    const runtime = createRuntime({ model: slow, store: memoryStore() });
    const run = runtime.start({ input: 'a', runId: 'again' });
    await new Promise<void>((resolve) =>
      run.events$.subscribe((event) => event.type === 'text-delta' && resolve()),
    );
    runtime.supervisor.send({ type: 'RUN.STOP', runId: 'again', reason: 'maintenance' });
    expect(await run.result).toMatchObject({ status: 'cancelled', error: { recoverable: true } });
    expect(runtime.supervisor.getSnapshot().context.recent[0]).toEqual({
      runId: 'again',
      status: 'stopped',
      detail: 'maintenance',
    });
    const restarted = await runtime.resume('again');
    expect(Object.keys(runtime.supervisor.getSnapshot().context.runs)).toEqual(['again']);
    expect(runtime.supervisor.getSnapshot().context.totals).toMatchObject({ spawned: 2, stopped: 1 });
    expect(await restarted.result).toMatchObject({ status: 'done', output: 'a slow answer, piece by piece' });
  });

  it('keeps going when a run crashes: the supervisor and the other runs are untouched', async () => {
    const send = sendTool();
    const model = scriptedModel((request) =>
      request.messages[0]?.content[0]?.type === 'text' && request.messages[0].content[0].text === 'crash'
        ? { toolCalls: [{ name: 'send', input: {} }] }
        : { text: 'fine', tokenDelayMs: 20 },
    );
    const runtime = createRuntime({ model, tools: [send], store: memoryStore() });
    const doomed = runtime.start({ input: 'crash', runId: 'doomed' });
    const sibling = runtime.start({ input: 'ok', runId: 'sibling' });
    const request = await new Promise<{ requestId: string }>((resolve) =>
      doomed.events$.subscribe((event) => event.type === 'input-request' && resolve(event.request)),
    );
    // A malformed answer sent straight to the actor breaks one of its actions: the run's actor errors.
    doomed.actor.send({ type: 'RESPOND', requestId: request.requestId, answer: undefined as never });
    expect(await doomed.result).toMatchObject({ status: 'failed', error: { errorClass: 'internal' } });
    expect(runtime.supervisor.getSnapshot().status).toBe('active');
    expect(runtime.supervisor.getSnapshot().context.recent).toContainEqual(
      expect.objectContaining({ runId: 'doomed', status: 'crashed' }),
    );
    expect(await sibling.result).toMatchObject({ status: 'done', output: 'fine' });
    expect(await runtime.start({ input: 'ok', runId: 'after' }).result).toMatchObject({ status: 'done' });
  });
});
