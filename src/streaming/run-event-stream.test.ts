import { firstValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createRunEventStream } from './run-event-stream.js';

describe('createRunEventStream', () => {
  it('numbers events from 0 and stamps them with the run id and time', () => {
    const stream = createRunEventStream('r');
    const seen: unknown[] = [];
    stream.events$.subscribe((event) => seen.push(event));
    stream.emit({ type: 'phase', phase: 'plan', turn: 1 });
    stream.emit({ type: 'text-delta', turn: 1, text: 'a' });
    expect(seen).toEqual([
      { type: 'phase', phase: 'plan', turn: 1, runId: 'r', seq: 0, at: expect.any(Number) },
      { type: 'text-delta', turn: 1, text: 'a', runId: 'r', seq: 1, at: expect.any(Number) },
    ]);
  });

  it('never changes an event it handed out when the same body is emitted again', () => {
    const stream = createRunEventStream('r');
    const seen: { seq: number }[] = [];
    stream.events$.subscribe((event) => seen.push(event));
    const body = { type: 'phase' as const, phase: 'plan' as const, turn: 1 };
    stream.emit(body);
    stream.emit(body);
    stream.emit(Object.freeze({ type: 'phase' as const, phase: 'act' as const, turn: 1 }));
    expect(seen.map((event) => event.seq)).toEqual([0, 1, 2]);
    expect(seen[0]).not.toBe(seen[1]);
  });

  it('completes at the end, drops later events, and replays only the end to late subscribers', async () => {
    const stream = createRunEventStream('r');
    const live = firstValueFrom(stream.events$.pipe(toArray()));
    stream.emit({ type: 'phase', phase: 'plan', turn: 1 });
    const result = {
      runId: 'r',
      status: 'done' as const,
      success: true,
      output: 'x',
      usage: {
        inputTokens: 0,
        outputTokens: 0,
        cacheCreationInputTokens: 0,
        cacheReadInputTokens: 0,
        turns: 1,
        costUsd: 0,
      },
    };
    stream.end({ type: 'run-end', result });
    stream.emit({ type: 'phase', phase: 'plan', turn: 2 });
    stream.end({ type: 'run-end', result });
    expect((await live).map((event) => event.seq)).toEqual([0, 1]);
    const late = await firstValueFrom(stream.events$.pipe(toArray()));
    expect(late).toEqual([expect.objectContaining({ type: 'run-end', seq: 1 })]);
  });
});
