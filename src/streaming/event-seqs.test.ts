import { firstValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createEventSeqs } from './event-seqs.js';
import { createRunEventStream } from './run-event-stream.js';

/** Seqs from a first range of 4, whose next reservation (of 4) fails when the test says so. */
function failingSeqs() {
  let fail: () => void = () => {};
  const errors: unknown[] = [];
  let asked = 0;
  const seqs = createEventSeqs({
    first: { start: 0, count: 4 },
    rangeSize: 4,
    reserve: () => {
      asked++;
      return new Promise<number>((_, reject) => {
        fail = () => reject(new Error('the store is down'));
      });
    },
    onError: (error) => errors.push(error),
  });
  return { seqs, errors, fail: () => fail(), asked: () => asked };
}

describe('createEventSeqs when a reservation fails', () => {
  it('hands out the seqs reserved before, then none: no seq past the last reserved range', async () => {
    const { seqs, errors, fail, asked } = failingSeqs();
    expect([seqs.take(), seqs.take(), seqs.take()]).toEqual([0, 1, 2]);
    expect(asked()).toBe(1);
    fail();
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toHaveLength(1);
    expect(seqs.exhausted).toBe(false);
    expect(seqs.take()).toBe(3);
    expect(seqs.take()).toBeUndefined();
    expect(seqs.exhausted).toBe(true);
    // No second reservation is tried.
    expect(asked()).toBe(1);
  });

  it('ends a stream whose events wait for seqs: they are dropped, and end() says its last event did not go out', async () => {
    const { seqs, fail } = failingSeqs();
    const stream = createRunEventStream('r', { seqs });
    const sent = firstValueFrom(stream.events$.pipe(toArray()));
    for (let turn = 1; turn <= 6; turn++) stream.emit({ type: 'phase', phase: 'plan', turn });
    fail();
    expect((await sent).map((event) => event.seq)).toEqual([0, 1, 2, 3]);
    expect(
      await stream.end({
        type: 'run-end',
        result: {
          runId: 'r',
          status: 'failed',
          success: false,
          output: undefined,
          usage: {
            inputTokens: 0,
            outputTokens: 0,
            cacheCreationInputTokens: 0,
            cacheReadInputTokens: 0,
            turns: 0,
            costUsd: 0,
          },
        },
      }),
    ).toBe(false);
    // A late subscriber gets the completion, and nothing without a seq.
    expect(await firstValueFrom(stream.events$.pipe(toArray()))).toEqual([]);
  });
});
