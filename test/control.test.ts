import { setTimeout as sleep } from 'node:timers/promises';
import { createCancelToken, createRuntime, defineTool, memoryStore } from 'agentchart';
import { createTestClock, type Script, scriptedModel, type TestClock } from 'agentchart/testing';
import { describe, expect, it } from 'vitest';
import { waitFor } from 'xstate';
import { z } from 'zod';
import { collect, gate, nextEvent, ofType, sendTool } from './helpers.js';

/** A tool that takes `ms` to finish and counts its executions. */
function slowTool(ms: number) {
  const executions: string[] = [];
  const tool = defineTool({
    name: 'slow',
    description: 'Takes a while',
    input: z.object({ n: z.number() }),
    execute: async ({ n }, { callId }) => {
      executions.push(callId);
      await sleep(ms);
      return n * 2;
    },
  });
  return { tool, executions };
}

/** A tool that waits for the test: `started` opens when it runs, and it returns 42 once `finish` is opened. */
function gatedTool() {
  const executions: string[] = [];
  const started = gate();
  const finish = gate();
  const tool = defineTool({
    name: 'slow',
    description: 'Takes as long as the test says',
    input: z.object({ n: z.number() }),
    execute: async ({ n }, { callId }) => {
      executions.push(callId);
      started.open();
      await finish.promise;
      return n * 2;
    },
  });
  return { tool, executions, started, finish };
}

/** A tool that takes `ms` on the test clock (and honours its signal). */
function clockedTool(clock: TestClock, ms: number) {
  return defineTool({
    name: 'slow',
    description: 'Takes a while',
    input: z.object({ n: z.number() }),
    execute: async ({ n }, { signal }) => {
      await new Promise<void>((resolve, reject) => {
        const handle = clock.setTimeout(resolve, ms);
        signal.addEventListener('abort', () => {
          clock.clearTimeout(handle);
          reject(signal.reason);
        });
      });
      return n * 2;
    },
  });
}

const answerAfterTool: Script = (request) =>
  request.messages.length === 1
    ? { toolCalls: [{ name: 'slow', input: { n: 21 } }] }
    : { text: 'The answer is 42.' };

describe('pause and resume', () => {
  it('pauses a model turn at once and requests it again on resume, without counting it twice', async () => {
    const model = scriptedModel(() => ({
      text: 'a slow answer, token by token',
      tokenDelayMs: 10,
      usage: { outputTokens: 9 },
    }));
    const runtime = createRuntime({ model, store: memoryStore() });
    const run = runtime.start({ input: 'Talk', runId: 'p1' });
    const events: string[] = [];
    run.events$.subscribe((event) => events.push(event.type));
    await new Promise<void>((resolve) =>
      run.events$.subscribe((event) => event.type === 'text-delta' && resolve()),
    );
    await run.pause();
    expect(run.actor.getSnapshot().value).toBe('paused');
    expect(await runtime.status('p1')).toMatchObject({ loaded: true, status: 'paused', phase: 'paused' });
    const [paused] = await runtime.checkpoints.list({ runId: 'p1', limit: 1 });
    expect(paused).toMatchObject({ phase: 'paused', nextPhase: 'plan', status: 'paused' });
    await runtime.resume('p1');
    const result = await run.result;
    expect(result).toMatchObject({ status: 'done', usage: { outputTokens: 9, turns: 1 } });
    expect(model.requests).toHaveLength(2);
    expect(events).toContain('paused');
    expect(events).toContain('resumed');
  });

  it('lets tool calls in flight finish and journals them while paused; they do not run again', async () => {
    const gated = gatedTool();
    const runtime = createRuntime({
      model: scriptedModel(answerAfterTool),
      tools: [gated.tool],
      store: memoryStore(),
    });
    const run = runtime.start({ input: 'Compute', runId: 'p2' });
    await gated.started.promise;
    await run.pause();
    const result = nextEvent(run, (event) => event.type === 'tool-result');
    gated.finish.open();
    expect(await result).toMatchObject({ output: 42 });
    expect(run.actor.getSnapshot().value).toBe('paused');
    await run.resume();
    expect(await run.result).toMatchObject({ status: 'done', output: 'The answer is 42.' });
    expect(gated.executions).toHaveLength(1);
  });

  it('resumes a paused run in another runtime after a restart', async () => {
    const store = memoryStore();
    const slow = slowTool(5);
    const first = createRuntime({ model: scriptedModel(answerAfterTool), tools: [slow.tool], store });
    const run = first.start({ input: 'Compute', runId: 'p3' });
    await waitFor(run.actor, (snapshot) => snapshot.value === 'act');
    await first.pause('p3');
    await first.close();
    expect(await run.result).toMatchObject({ status: 'paused' });
    expect(await first.runs.get('p3')).toMatchObject({ status: 'paused' });

    const second = createRuntime({ model: scriptedModel(answerAfterTool), tools: [slow.tool], store });
    expect(await second.status('p3')).toMatchObject({ loaded: false, status: 'paused' });
    const resumed = await second.resume('p3');
    expect(await resumed.result).toMatchObject({ status: 'done', output: 'The answer is 42.' });
    expect(slow.executions).toHaveLength(1);
  });
});

describe('cancel', () => {
  it('cancel tokens are one-shot: the first reason wins, and tools see the abort', async () => {
    const token = createCancelToken();
    expect(token.cancelled).toBe(false);
    let toolSignal: AbortSignal | undefined;
    const started = gate();
    const block = defineTool({
      name: 'block',
      description: 'Blocks',
      input: z.object({}),
      execute: async (_, { signal }) => {
        toolSignal = signal;
        started.open();
        await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      },
    });
    const runtime = createRuntime({
      model: scriptedModel([{ toolCalls: [{ name: 'block', input: {} }] }]),
      tools: [block],
      store: memoryStore(),
    });
    const run = runtime.start({ input: 'Block', signal: token });
    await started.promise;
    expect(token.cancel('first reason')).toBe(true);
    expect(token.cancel('second reason')).toBe(false);
    expect([token.cancelled, token.reason]).toEqual([true, 'first reason']);
    const result = await run.result;
    expect(result).toMatchObject({
      status: 'cancelled',
      error: { errorClass: 'cancelled', details: { reason: 'first reason' } },
    });
    expect(toolSignal?.aborted).toBe(true);
  });

  it('cancels by run id, even a run that waits on disk', async () => {
    const store = memoryStore();
    const approve = sendTool();
    const model = scriptedModel([{ toolCalls: [{ name: 'send', input: {} }] }]);
    const runtime = createRuntime({ model, tools: [approve], store, unloadParked: true });
    const run = runtime.start({ input: 'Send', runId: 'c2' });
    expect(await run.result).toMatchObject({ status: 'waiting_input' });
    const cancelled = await runtime.cancel('c2', 'no longer needed');
    expect(cancelled).toMatchObject({
      status: 'cancelled',
      error: { details: { reason: 'no longer needed' } },
    });
    expect(await runtime.runs.get('c2')).toMatchObject({ status: 'cancelled' });
  });
});

describe('timeouts', () => {
  /** A model whose every turn streams slowly on the test clock. */
  const slowOn = (clock: TestClock) =>
    scriptedModel(() => ({ text: 'slow slow slow slow slow', tokenDelayMs: 40 }), { clock });

  it('times out the whole run, a model turn, and the tool calls of a turn, saying which', async () => {
    const outcome = async (
      config: Omit<Parameters<typeof createRuntime>[0], 'clock'>,
      clock: TestClock,
      timeoutMs?: number,
    ) => {
      const runtime = createRuntime({ ...config, clock, store: memoryStore() });
      const run = runtime.start({ input: 'Go', ...(timeoutMs === undefined ? {} : { timeoutMs }) });
      await clock.advance(1_000);
      return (await run.result).error;
    };
    const total = createTestClock();
    expect(await outcome({ model: slowOn(total) }, total, 60)).toMatchObject({
      errorClass: 'timeout',
      recoverable: true,
      details: { limit: 'total', phase: 'plan' },
    });
    const plan = createTestClock();
    expect(await outcome({ model: slowOn(plan), timeouts: { planMs: 50 } }, plan)).toMatchObject({
      details: { limit: 'plan', phase: 'plan' },
    });
    const act = createTestClock();
    expect(
      await outcome(
        { model: scriptedModel(answerAfterTool), tools: [clockedTool(act, 500)], timeouts: { actMs: 50 } },
        act,
      ),
    ).toMatchObject({
      errorClass: 'timeout',
      details: { limit: 'act', phase: 'act' },
    });
  });

  it('applies timeouts.toolMs to tools that set no timeout of their own', async () => {
    const clock = createTestClock();
    const runtime = createRuntime({
      model: scriptedModel(answerAfterTool),
      tools: [clockedTool(clock, 500)],
      store: memoryStore(),
      timeouts: { toolMs: 30 },
      clock,
    });
    const events = collect(runtime.start({ input: 'Go' }));
    await clock.advance(30);
    expect(ofType(await events, 'tool-error')).toMatchObject([
      { code: 'TOOL_TIMEOUT', message: "Tool 'slow' timed out after 30 ms" },
    ]);
  });

  it('times out at once a run restored after its deadline, and continues it with a new one', async () => {
    const store = memoryStore();
    const clock = createTestClock();
    const text = 'thinking it over, '.repeat(4).trim();
    const model = () => scriptedModel(() => ({ text, tokenDelayMs: 30 }), { clock });
    const first = createRuntime({ model: model(), store, clock });
    const run = first.start({ input: 'Go', runId: 't3', timeoutMs: 200 });
    const delta = nextEvent(run, (event) => event.type === 'text-delta');
    await clock.advance(30);
    await delta;
    await first.close(); // the process goes down
    await clock.advance(250); // and stays down past the deadline
    const second = createRuntime({ model: model(), store, clock });
    const [recovered] = await second.recover();
    const timedOut = await recovered?.result;
    expect(timedOut).toMatchObject({
      status: 'failed',
      error: { errorClass: 'timeout', details: { limit: 'total' } },
    });
    // A run that ran out of time continues with a new deadline.
    const again = await second.resume('t3', { timeoutMs: 5_000 });
    await clock.advance(1_000);
    expect(await again.result).toMatchObject({ status: 'done', output: text });
  });
});

describe('budgets', () => {
  const priced = {
    'test-model': { inputPerMTok: 1_000, outputPerMTok: 2_000, cacheWritePerMTok: 0, cacheReadPerMTok: 0 },
  };
  const looping = () =>
    scriptedModel(
      (request) =>
        request.messages.length < 9
          ? { toolCalls: [{ name: 'slow', input: { n: 1 } }], usage: { inputTokens: 100, outputTokens: 50 } }
          : { text: 'finally done', usage: { inputTokens: 100, outputTokens: 50 } },
      { modelId: 'test-model' },
    );

  it('stops a run at each limit, saying which, and prices its usage', async () => {
    const stop = async (limits: NonNullable<Parameters<typeof createRuntime>[0]['limits']>) => {
      const slow = slowTool(1);
      const runtime = createRuntime({
        model: looping(),
        tools: [slow.tool],
        store: memoryStore(),
        limits,
        prices: priced,
      });
      return runtime.start({ input: 'Loop' }).result;
    };
    expect((await stop({ maxInputTokens: 250 })).error).toMatchObject({
      errorClass: 'budget_exceeded',
      recoverable: true,
      details: { limit: 'maxInputTokens', used: 300, max: 250 },
    });
    expect((await stop({ maxOutputTokens: 120 })).error?.details).toMatchObject({
      limit: 'maxOutputTokens',
      used: 150,
    });
    expect((await stop({ maxTotalTokens: 400 })).error?.details).toMatchObject({
      limit: 'maxTotalTokens',
      used: 450,
    });
    // Each turn costs 100 * 1000 / 1e6 + 50 * 2000 / 1e6 = 0.2 dollars.
    const costly = await stop({ maxCostUsd: 0.5 });
    expect(costly.error?.details).toMatchObject({ limit: 'maxCostUsd', max: 0.5 });
    expect(costly.usage.costUsd).toBeCloseTo(0.6, 10);
    expect(() => createRuntime({ model: scriptedModel([]), limits: { maxCostUsd: 1 } })).toThrowError(
      /price of model 'scripted'/,
    );
  });

  it('makes no model call at all on a budget that is used up already', async () => {
    for (const limits of [{ maxCostUsd: 0 }, { maxTotalTokens: 0 }]) {
      const model = looping();
      const runtime = createRuntime({ model, store: memoryStore(), limits, prices: priced });
      const result = await runtime.start({ input: 'Loop' }).result;
      expect(result).toMatchObject({
        status: 'failed',
        error: { errorClass: 'budget_exceeded', recoverable: true },
      });
      expect(model.requests).toHaveLength(0);
    }
  });

  it('runs no tool call of the turn that went over a budget; resuming with raised limits runs them', async () => {
    const slow = slowTool(1);
    const model = looping();
    const runtime = createRuntime({
      model,
      tools: [slow.tool],
      store: memoryStore(),
      limits: { maxCostUsd: 0.3 }, // 0.2 a turn: the second turn goes over
      prices: priced,
    });
    const first = await runtime.start({ input: 'Loop', runId: 'b3' }).result;
    expect(first).toMatchObject({
      status: 'failed',
      error: { errorClass: 'budget_exceeded', recoverable: true, details: { limit: 'maxCostUsd' } },
      usage: { turns: 2 },
    });
    expect(first.usage.costUsd).toBeCloseTo(0.4, 10);
    // The first turn's call ran; the second turn's did not, and waits in the checkpoint.
    expect(slow.executions).toHaveLength(1);
    const [end] = await runtime.checkpoints.list({ runId: 'b3', limit: 1 });
    expect((await runtime.checkpoints.get(end?.id ?? '')).context.pendingToolCalls).toHaveLength(1);
    // Resumed without raising the limit: it stops again at once, running nothing.
    expect(await (await runtime.resume('b3')).result).toMatchObject({ status: 'failed' });
    expect(slow.executions).toHaveLength(1);
    expect(model.requests).toHaveLength(2);
    const resumed = await runtime.resume('b3', { limits: { maxCostUsd: 10 } });
    expect(await resumed.result).toMatchObject({ status: 'done', output: 'finally done' });
    expect(slow.executions).toHaveLength(4);
  });

  it('continues a run that ran out of budget when resumed with raised limits', async () => {
    const slow = slowTool(1);
    const runtime = createRuntime({
      model: looping(),
      tools: [slow.tool],
      store: memoryStore(),
      limits: { maxTurns: 2 },
      prices: priced,
    });
    const first = await runtime.start({ input: 'Loop', runId: 'b2' }).result;
    expect(first).toMatchObject({
      status: 'failed',
      error: { errorClass: 'budget_exceeded', details: { limit: 'maxTurns' } },
    });
    const resumed = await runtime.resume('b2', { limits: { maxTurns: 10 } });
    expect(resumed.id).toBe('b2');
    const result = await resumed.result;
    expect(result).toMatchObject({ status: 'done', output: 'finally done', usage: { turns: 5 } });
    expect(slow.executions).toHaveLength(4);
    expect(result.usage.costUsd).toBeCloseTo(1, 10);
  });
});
