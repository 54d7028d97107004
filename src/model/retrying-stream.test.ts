import { describe, expect, it } from 'vitest';
import { AgentchartError } from '../agentchart-error.js';
import { createTestClock } from '../testing/test-clock.js';
import type { ModelClient, ModelStreamPart } from './model-client.js';
import { retryingStream } from './retrying-stream.js';
import { emptyUsage } from './usage.js';

const request = { messages: [], tools: [] };
const retry = { maxRetries: 2, baseDelayMs: 0, maxDelayMs: 0 };
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
    const stream = retryingStream(model, request, {
      signal: new AbortController().signal,
      retry,
      idleStreamMs: 1_000,
      clock: createTestClock(),
    });
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
});
