import {
  AgentchartError,
  type Clock,
  createRuntime,
  emptyUsage,
  type ModelClient,
  type ModelStreamPart,
  memoryStore,
  type RunEvent,
  type RunEventOf,
} from 'agentchart';
import { createTestClock } from 'agentchart/testing';
import { describe, expect, it } from 'vitest';
import { collect, nextEvent, ofType } from './helpers.js';

/** What one attempt of a {@link handWrittenModel} does, given its signal. */
type Attempt = (signal: AbortSignal) => AsyncIterable<ModelStreamPart>;

/** A custom `ModelClient` with no retries of its own: each call of `stream` plays the next attempt. */
function handWrittenModel(attempts: readonly Attempt[]) {
  const signals: AbortSignal[] = [];
  const model: ModelClient = {
    modelId: 'hand-written',
    stream(_request, { signal }) {
      const attempt = attempts[signals.length] ?? attempts.at(-1);
      signals.push(signal);
      if (attempt === undefined) throw new Error('no attempts');
      return attempt(signal);
    },
  };
  return { model, signals };
}

function failing(errorClass: string, retryAfterMs?: number): Attempt {
  return async function* () {
    yield { type: 'text-delta', text: 'Par' };
    throw new AgentchartError({
      code: 'MODEL_ERROR',
      message: `Failed: ${errorClass}`,
      details: { errorClass, recoverable: true, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
    });
  };
}

function answering(text: string): Attempt {
  return async function* () {
    yield { type: 'text-delta', text };
    yield { type: 'finish', stopReason: 'end_turn', content: [{ type: 'text', text }], usage: emptyUsage() };
  };
}

/** Sends nothing after its first delta until its signal aborts, then throws as a client would. */
function stalling(): Attempt {
  return async function* (signal) {
    yield { type: 'text-delta', text: 'Stuck' };
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    throw new AgentchartError({ code: 'ABORTED', message: 'aborted' });
  };
}

/** Yields a keep-alive every `everyMs` on the clock, `times` times, then answers. */
function keepingAlive(clock: Clock, everyMs: number, times: number): Attempt {
  return async function* () {
    for (let n = 0; n < times; n++) {
      await new Promise<void>((resolve) => clock.setTimeout(resolve, everyMs));
      yield { type: 'keep-alive' };
    }
    yield* answering('Slow but alive.')(new AbortController().signal);
  };
}

const isRetry = (event: RunEvent): event is RunEventOf<'retry'> => event.type === 'retry';

describe('the runtime retries any ModelClient', () => {
  it('retries a recoverable failure after details.retryAfterMs on the runtime clock, emitting a retry event', async () => {
    const clock = createTestClock();
    const { model, signals } = handWrittenModel([failing('overloaded', 30_000), answering('Made it.')]);
    const runtime = createRuntime({ store: memoryStore(), model, clock });
    const run = runtime.start({ input: 'Hi' });
    const events = collect(run);
    expect(await nextEvent(run, isRetry)).toMatchObject({
      turn: 1,
      attempt: 1,
      delayMs: 30_000,
      errorClass: 'overloaded',
    });
    await clock.advance(29_999);
    expect(signals).toHaveLength(1);
    await clock.advance(1);
    expect(await run.result).toMatchObject({ success: true, output: 'Made it.' });
    expect(signals).toHaveLength(2);
    const deltas = ofType(await events, 'text-delta').map((delta) => delta.text);
    expect(deltas).toEqual(['Par', 'Made it.']);
    await runtime.close();
  });

  it('backs off from retry.baseDelayMs up to retry.maxDelayMs, and fails recoverable after retry.maxRetries', async () => {
    const clock = createTestClock();
    const { model, signals } = handWrittenModel([failing('server_error')]);
    const runtime = createRuntime({
      store: memoryStore(),
      model,
      clock,
      retry: { maxRetries: 2, baseDelayMs: 1_000, maxDelayMs: 1_500 },
    });
    const run = runtime.start({ input: 'Hi' });
    const first = await nextEvent(run, isRetry);
    expect(first.delayMs).toBeGreaterThanOrEqual(500);
    expect(first.delayMs).toBeLessThanOrEqual(1_000);
    const second = nextEvent(run, isRetry, 1);
    await clock.advance(first.delayMs);
    expect(signals).toHaveLength(2);
    const { delayMs } = await second;
    expect(delayMs).toBeGreaterThanOrEqual(750);
    expect(delayMs).toBeLessThanOrEqual(1_500);
    await clock.advance(delayMs);
    expect(await run.result).toMatchObject({
      status: 'failed',
      error: { errorClass: 'server_error', recoverable: true, details: { code: 'MODEL_ERROR' } },
    });
    expect(signals).toHaveLength(3);
    await runtime.close();
  });

  it('aborts an attempt that sends nothing for timeouts.idleStreamMs (default 60000) on the runtime clock, and retries it', async () => {
    const clock = createTestClock();
    const { model, signals } = handWrittenModel([stalling(), answering('Unstuck.')]);
    const runtime = createRuntime({ store: memoryStore(), model, clock, retry: { baseDelayMs: 0 } });
    const run = runtime.start({ input: 'Hi' });
    await nextEvent(run, (event) => event.type === 'text-delta');
    await clock.advance(59_999);
    expect(signals[0]?.aborted).toBe(false);
    const retry = nextEvent(run, isRetry);
    await clock.advance(1);
    expect(await retry).toMatchObject({ errorClass: 'stream_stalled', attempt: 1 });
    expect(signals[0]?.aborted).toBe(true);
    expect(await run.result).toMatchObject({ success: true, output: 'Unstuck.' });
    await runtime.close();
  });

  it('takes keep-alive parts as signs of life', async () => {
    const clock = createTestClock();
    const { model, signals } = handWrittenModel([keepingAlive(clock, 800, 3)]);
    const runtime = createRuntime({ store: memoryStore(), model, clock, timeouts: { idleStreamMs: 1_000 } });
    const run = runtime.start({ input: 'Hi' });
    const events = collect(run);
    for (let n = 0; n < 3; n++) await clock.advance(800);
    expect(await run.result).toMatchObject({ success: true, output: 'Slow but alive.' });
    expect(ofType(await events, 'retry')).toEqual([]);
    expect(signals).toHaveLength(1);
    await runtime.close();
  });

  it('stops waiting to retry when the run is cancelled', async () => {
    const clock = createTestClock();
    const { model, signals } = handWrittenModel([failing('rate_limited', 60_000), answering('Too late.')]);
    const runtime = createRuntime({ store: memoryStore(), model, clock });
    const run = runtime.start({ input: 'Hi' });
    await nextEvent(run, isRetry);
    expect(await run.cancel('user left')).toMatchObject({ status: 'cancelled' });
    await clock.advance(60_000);
    expect(signals).toHaveLength(1);
    expect(clock.pending).toBe(0);
    await runtime.close();
  });

  it('refuses a retry option that is not a count or a duration, naming it', () => {
    const model = handWrittenModel([answering('x')]).model;
    for (const retry of [
      { maxRetries: -1 },
      { maxRetries: 1.5 },
      { baseDelayMs: -5 },
      { maxDelayMs: Number.NaN },
    ]) {
      const field = Object.keys(retry)[0];
      expect(() => createRuntime({ store: memoryStore(), model, retry })).toThrow(
        expect.objectContaining({
          code: 'INVALID_ARGUMENT',
          message: expect.stringContaining(`retry.${field}`),
        }),
      );
    }
    expect(() => createRuntime({ store: memoryStore(), model, retry: { tries: 3 } as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});
