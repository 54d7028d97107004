import type { Observable } from 'rxjs';

/**
 * Reads an observable as an async iterable. It subscribes when iteration starts and buffers what
 * arrives between reads; leaving the loop early (`break`) unsubscribes. An observable error is
 * thrown from the loop.
 */
export function toAsyncIterable<T>(source: Observable<T>): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      let buffer: T[] = [];
      let head = 0;
      const take = (): T => {
        const value = buffer[head++] as T;
        if (head === buffer.length) {
          buffer = [];
          head = 0;
        }
        return value;
      };
      let waiting:
        | { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void }
        | undefined;
      let finished = false;
      let failure: { error: unknown } | undefined;
      const settle = () => {
        if (waiting === undefined) return;
        const reader = waiting;
        if (head < buffer.length) {
          waiting = undefined;
          reader.resolve({ value: take(), done: false });
        } else if (failure !== undefined) {
          waiting = undefined;
          reader.reject(failure.error);
        } else if (finished) {
          waiting = undefined;
          reader.resolve({ value: undefined, done: true });
        }
      };
      const subscription = source.subscribe({
        next: (value) => {
          buffer.push(value);
          settle();
        },
        error: (error) => {
          failure = { error };
          settle();
        },
        complete: () => {
          finished = true;
          settle();
        },
      });
      return {
        next: () =>
          new Promise<IteratorResult<T>>((resolve, reject) => {
            waiting = { resolve, reject };
            settle();
          }),
        return: async () => {
          subscription.unsubscribe();
          finished = true;
          buffer = [];
          head = 0;
          return { value: undefined, done: true };
        },
      };
    },
  };
}
