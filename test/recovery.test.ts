import {
  type CheckpointStore,
  createRuntime,
  defineTool,
  memoryStore,
  type ToolExecutionContext,
} from 'agentchart';
import { type ScriptedTurn, scriptedModel } from 'agentchart/testing';
import { describe, expect, it } from 'vitest';
import { waitFor } from 'xstate';
import { z } from 'zod';
import { collect, gate, ofType } from './helpers.js';

/** A store that records every checkpoint write, can hold them behind a gate, and can be told to fail them. */
function observedStore() {
  const inner = memoryStore();
  const log: string[] = [];
  let failFrom = Number.POSITIVE_INFINITY;
  let writes = 0;
  let held: Promise<void> = Promise.resolve();
  const store: CheckpointStore = {
    ...inner,
    async appendCheckpoint(envelope, expectedVersion) {
      if (++writes >= failFrom) throw new Error('disk full');
      await held;
      const record = await inner.appendCheckpoint(envelope, expectedVersion);
      log.push(`checkpoint ${envelope.phase}`);
      return record;
    },
  };
  const hold = () => {
    const writesGate = gate();
    held = writesGate.promise;
    return writesGate;
  };
  return { store, log, hold, failFrom: (n: number) => (failFrom = n) };
}

describe('recovery', () => {
  it('recovers a run stopped mid-turn: the tool call that completed is not run again, the one in flight is', async () => {
    const store = memoryStore();
    const executions: { name: string; key: string }[] = [];
    let release: () => void = () => {};
    const blocked = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tools = (blockSlow: boolean) => [
      defineTool({
        name: 'fast',
        description: 'Quick',
        input: z.object({}),
        execute: (_, { idempotencyKey }: ToolExecutionContext) => {
          executions.push({ name: 'fast', key: idempotencyKey });
          return 'fast result';
        },
      }),
      defineTool({
        name: 'slow',
        description: 'Slow',
        input: z.object({}),
        execute: async (_, { idempotencyKey, signal }: ToolExecutionContext) => {
          executions.push({ name: 'slow', key: idempotencyKey });
          // Blocked until the process goes down (which aborts it), as a call in flight at a crash.
          if (blockSlow)
            await Promise.race([
              blocked,
              new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
            ]);
          return 'slow result';
        },
      }),
    ];
    const turns: ScriptedTurn[] = [
      {
        toolCalls: [
          { name: 'fast', input: {}, id: 'call_fast' },
          { name: 'slow', input: {}, id: 'call_slow' },
        ],
        usage: { outputTokens: 7 },
      },
      { text: 'Both done.', usage: { outputTokens: 3 } },
    ];
    const first = createRuntime({ model: scriptedModel(turns), tools: tools(true), store });
    const run = first.start({ input: 'Work', runId: 'crashy' });
    // The fast call's result is journaled before the statechart hears of it.
    await waitFor(run.actor, (snapshot) => snapshot.context.toolResults.length === 1);
    await first.close(); // the process goes down with the slow call in flight
    expect(await run.result).toMatchObject({ status: 'cancelled', error: { recoverable: true } });
    expect(await first.runs.get('crashy')).toMatchObject({ status: 'active' });

    const model = scriptedModel(turns.slice(1));
    const second = createRuntime({ model, tools: tools(false), store });
    const [recovered, ...others] = await second.recover();
    expect(others).toEqual([]);
    const events = await collect(recovered ?? run);
    const result = await (recovered ?? run).result;
    release();

    expect(result).toMatchObject({
      status: 'done',
      output: 'Both done.',
      usage: { turns: 2, outputTokens: 10 },
    });
    expect(executions).toEqual([
      { name: 'fast', key: 'call_fast' },
      { name: 'slow', key: 'call_slow' },
      { name: 'slow', key: 'call_slow' },
    ]);
    expect(ofType(events, 'tool-result').map((event) => [event.toolName, event.replayed === true])).toEqual([
      ['fast', true],
      ['slow', false],
    ]);
    expect(events[0]).toMatchObject({
      type: 'run-start',
      input: 'Work',
      resumedFrom: expect.stringMatching(/^crashy@/),
    });
    const messages = model.requests[0]?.messages ?? [];
    expect(
      messages.at(-1)?.content.map((block) => (block.type === 'tool-result' ? block.output : null)),
    ).toEqual(['fast result', 'slow result']);
  });

  it('requests a model turn that was in flight again, without counting its tokens twice', async () => {
    const store = memoryStore();
    const turns: ScriptedTurn[] = [
      { text: 'a slow streamed answer '.repeat(5), tokenDelayMs: 5, usage: { outputTokens: 40 } },
    ];
    const first = createRuntime({ model: scriptedModel(turns), store });
    const run = first.start({ input: 'Talk', runId: 'streaming' });
    await new Promise<void>((resolve) => {
      run.events$.subscribe((event) => event.type === 'text-delta' && resolve());
    });
    await first.close();
    await run.result;

    const model = scriptedModel(turns);
    const second = createRuntime({ model, store });
    const [recovered] = await second.recover();
    const result = await recovered?.result;
    expect(result).toMatchObject({ status: 'done', usage: { outputTokens: 40, turns: 1 } });
    expect(model.requests).toHaveLength(1);
    expect(model.requests[0]?.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Talk' }] },
    ]);
  });

  it('with sync durability, starts tool calls only after the checkpoints before them are written', async () => {
    const timeline = async (durability: 'sync' | 'async') => {
      const { store, log, hold } = observedStore();
      const model = scriptedModel([{ toolCalls: [{ name: 'note', input: {} }] }, { text: 'noted' }]);
      const wrapped = {
        ...model,
        stream: (
          request: Parameters<typeof model.stream>[0],
          options: Parameters<typeof model.stream>[1],
        ) => {
          log.push('model called');
          return model.stream(request, options);
        },
      };
      const toolCalled = gate();
      const note = defineTool({
        name: 'note',
        description: 'Notes',
        input: z.object({}),
        execute: () => {
          log.push('tool called');
          toolCalled.open();
          return 'ok';
        },
      });
      const runtime = createRuntime({ model: wrapped, tools: [note], store, checkpoint: { durability } });
      // Checkpoint writes wait on a gate from here on (the run's first one goes with its record).
      const writes = hold();
      const run = runtime.start({ input: 'hi' });
      await waitFor(run.actor, (snapshot) => snapshot.value === 'act');
      if (durability === 'sync') {
        // The write before the call is held: the call waits for it.
        for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
        expect(log).not.toContain('tool called');
      } else {
        // The write before the call is held, and the call goes ahead anyway.
        await toolCalled.promise;
      }
      writes.open();
      await run.result;
      return log;
    };
    // Tool calls wait for the checkpoint before them; model turns (safe to request again) never wait.
    expect(await timeline('sync')).toEqual([
      'model called',
      'checkpoint act',
      'tool called',
      'model called',
      'checkpoint plan',
      'checkpoint done',
    ]);
    // Async: the call ran while the checkpoint before it was still held.
    const async = await timeline('async');
    expect(async.indexOf('tool called')).toBeLessThan(async.indexOf('checkpoint act'));
    expect([...async].sort()).toEqual(
      [
        'model called',
        'tool called',
        'model called',
        'checkpoint act',
        'checkpoint plan',
        'checkpoint done',
      ].sort(),
    );
  });

  it('fails a run whose checkpoint cannot be written with store_error, and goes on with the others', async () => {
    const add = defineTool({
      name: 'add',
      description: 'Adds',
      input: z.object({ a: z.number() }),
      execute: ({ a }) => a,
    });
    const runWithFailingWrite = async (failingWrite: number) => {
      const { store, failFrom } = observedStore();
      failFrom(failingWrite);
      const model = scriptedModel([
        { toolCalls: [{ name: 'add', input: { a: 1 } }] },
        { text: 'one', tokenDelayMs: 1 },
      ]);
      const runtime = createRuntime({ model, tools: [add], store });
      const result = await runtime.start({ input: 'one', runId: 'r' }).result;
      return { result, record: await store.getRun('r'), requests: model.requests.length };
    };
    // Writes after the first checkpoint (stored with the run): act, plan, done.
    const midRun = await runWithFailingWrite(1);
    expect(midRun.result).toMatchObject({
      status: 'failed',
      error: { errorClass: 'store_error', message: 'disk full', recoverable: true },
    });
    expect(midRun.record).toMatchObject({ status: 'active', headCheckpointId: 'r@0' });
    expect(midRun.requests).toBe(1);
    const atTheEnd = await runWithFailingWrite(3);
    expect(atTheEnd.result).toMatchObject({
      status: 'failed',
      output: 'one',
      error: { errorClass: 'store_error' },
    });
    expect(atTheEnd.record).toMatchObject({ status: 'active', headCheckpointId: 'r@2' });
    expect((await runWithFailingWrite(Number.POSITIVE_INFINITY)).result).toMatchObject({ status: 'done' });
  });

  it('recover() resumes paused runs too, and reports runs it cannot resume', async () => {
    const store = memoryStore();
    const never = new Promise(() => {});
    const first = createRuntime({
      model: scriptedModel(() => ({ text: 'slow', gate: never })),
      store,
      checkpoint: { policy: 'on-tool-call' },
    });
    first.start({ input: 'Pause me', runId: 'paused-run' });
    await store.createRun({ runId: 'bare', forkOf: null, messages: [] });
    await first.pause('paused-run');
    await first.close();

    const reported: string[] = [];
    const second = createRuntime({ model: scriptedModel([{ text: 'Resumed.' }]), store });
    const handles = await second.recover({
      onError: (error, runId) => reported.push(`${runId}: ${(error as { code: string }).code}`),
    });
    expect(handles.map((handle) => handle.id)).toEqual(['paused-run']);
    expect(reported).toEqual(['bare: CHECKPOINT_NOT_FOUND']);
    const [handle] = handles;
    expect(handle?.actor.getSnapshot().value).toBe('paused');
    handle?.actor.send({ type: 'RESUME' });
    expect(await handle?.result).toMatchObject({ status: 'done', output: 'Resumed.' });
  });
});
