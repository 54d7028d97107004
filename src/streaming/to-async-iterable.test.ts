import { Observable, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { toAsyncIterable } from './to-async-iterable.js';

describe('toAsyncIterable', () => {
  it('yields what was buffered between reads, in order, then ends', async () => {
    const subject = new Subject<number>();
    const iterator = toAsyncIterable(subject)[Symbol.asyncIterator]();
    for (let n = 0; n < 5; n++) subject.next(n);
    subject.complete();
    const seen: number[] = [];
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) seen.push(next.value);
    expect(seen).toEqual([0, 1, 2, 3, 4]);
  });

  it('unsubscribes when the loop is left early', async () => {
    let unsubscribed = false;
    const source = new Observable<number>((subscriber) => {
      subscriber.next(1);
      subscriber.next(2);
      return () => {
        unsubscribed = true;
      };
    });
    for await (const value of toAsyncIterable(source)) {
      expect(value).toBe(1);
      break;
    }
    expect(unsubscribed).toBe(true);
  });

  it('throws the observable error from the loop', async () => {
    const source = new Observable<number>((subscriber) => {
      subscriber.next(1);
      subscriber.error(new Error('broken'));
    });
    const seen: number[] = [];
    await expect(async () => {
      for await (const value of toAsyncIterable(source)) seen.push(value);
    }).rejects.toThrow('broken');
    expect(seen).toEqual([1]);
  });
});
