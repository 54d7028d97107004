import { describe, expect, it } from 'vitest';
import { AgentchartError } from '../agentchart-error.js';
import { createTestClock } from '../testing/test-clock.js';
import type { ModelClient, ModelStreamPart } from './model-client.js';
import { retryingStream } from './retrying-stream.js';
import { emptyUsage } from './usage.js';

const request = { messages: [], tools: [] };
const retry = { maxRetries: 2, baseDelayMs: 0, maxDelayMs: 0 };

/** The stream of `model` with no signal of the test's, a 1 s watchdog and a test clock nobody moves. */
const quietStream = (model: ModelClient) =>
  retryingStream(model, request, {
    signal: new AbortController().signal,
    retry,
    idleStreamMs: 1_000,
    clock: createTestClock(),
  });
const finish: ModelStreamPart = { type: 'finish', stopReason: 'end_turn', content: [], usage: emptyUsage() };

async function partsOf(stream: AsyncIterable<ModelStreamPart>): Promise<string[]> {
  const types: string[] = [];
  for await (const part of stream) types.push(part.type);
  return types;
}

describe('retryingStream', () => {
  it('retries a client that throws a recoverable error before it returns a stream', async () => {
    let calls = 0;
    const model: ModelClient = {
      modelId: 'sync-thrower',
      stream() {
        if (calls++ === 0)
          throw new AgentchartError({
            code: 'MODEL_ERROR',
            message: 'no connection',
            details: { errorClass: 'network', recoverable: true },
          });
        return (async function* () {
          yield finish;
        })();
      },
    };
    const stream = quietStream(model);
    expect(await partsOf(stream)).toEqual(['retry', 'finish']);
    expect(calls).toBe(2);
  });

  it('leaves behind a stalled attempt whose client ignores its signal, and retries', async () => {
    const clock = createTestClock();
    let calls = 0;
    const model: ModelClient = {
      modelId: 'deaf',
      async *stream() {
        if (calls++ === 0) {
          yield { type: 'text-delta', text: 'a' };
          await new Promise(() => {}); // never settles, whatever the signal says
        }
        yield finish;
      },
    };
    const stream = retryingStream(model, request, {
      signal: new AbortController().signal,
      retry,
      idleStreamMs: 1_000,
      clock,
    });
    const parts = partsOf(stream);
    await clock.advance(1_000);
    expect(await parts).toEqual(['text-delta', 'retry', 'finish']);
    expect(calls).toBe(2);
  });

  it('stops the client when its consumer stops reading', async () => {
    let stopped = false;
    let clientSignal: AbortSignal | undefined;
    const model: ModelClient = {
      modelId: 'endless',
      async *stream(_, { signal }) {
        clientSignal = signal;
        try {
          for (;;) yield { type: 'text-delta', text: 'a' };
        } finally {
          stopped = true;
        }
      },
    };
    const stream = quietStream(model);
    for await (const part of stream) if (part.type === 'text-delta') break;
    expect(stopped).toBe(true);
    expect(clientSignal?.aborted).toBe(true);
  });

  it('fails with ABORTED at once when the turn is aborted while a part is awaited', async () => {
    const turn = new AbortController();
    const model: ModelClient = {
      modelId: 'deaf',
      async *stream() {
        yield { type: 'text-delta', text: 'a' };
        await new Promise(() => {}); // never settles, whatever the signal says
      },
    };
    const stream = retryingStream(model, request, {
      signal: turn.signal,
      retry,
      idleStreamMs: 1_000,
      clock: createTestClock(),
    });
    const types: string[] = [];
    const read = (async () => {
      for await (const part of stream) {
        types.push(part.type);
        turn.abort();
      }
    })();
    await expect(read).rejects.toMatchObject({ code: 'ABORTED' });
    expect(types).toEqual(['text-delta']);
  });

  it("retries a client whose iterator's next() throws instead of rejecting", async () => {
    let calls = 0;
    const model: ModelClient = {
      modelId: 'sync-next-thrower',
      stream() {
        if (calls++ > 0)
          return (async function* () {
            yield finish;
          })();
        const next = () => {
          throw new AgentchartError({
            code: 'MODEL_ERROR',
            message: 'connection reset',
            details: { errorClass: 'network', recoverable: true },
          });
        };
        return { [Symbol.asyncIterator]: () => ({ next }) };
      },
    };
    const stream = quietStream(model);
    expect(await partsOf(stream)).toEqual(['retry', 'finish']);
    expect(calls).toBe(2);
  });

  it('treats a client that fails to stop after its finish part as a failed attempt', async () => {
    let calls = 0;
    const model: ModelClient = {
      modelId: 'bad-return',
      stream() {
        if (calls++ > 0)
          return (async function* () {
            yield finish;
          })();
        let sent = false;
        const next = async (): Promise<IteratorResult<ModelStreamPart>> => {
          if (sent) return { done: true, value: undefined };
          sent = true;
          return { done: false, value: finish };
        };
        const stop = async (): Promise<IteratorResult<ModelStreamPart>> => {
          throw new AgentchartError({
            code: 'MODEL_ERROR',
            message: 'the socket would not close',
            details: { errorClass: 'network', recoverable: true },
          });
        };
        return { [Symbol.asyncIterator]: () => ({ next, return: stop }) };
      },
    };
    const stream = quietStream(model);
    expect(await partsOf(stream)).toEqual(['finish', 'retry', 'finish']);
    expect(calls).toBe(2);
  });
});
