import type { Clock } from '../clock.js';

/** A {@link Clock} that moves only when told to: tests of deadlines and timeouts that do not sleep. */
export interface TestClock extends Clock {
  /**
   * Moves the time forward by `ms`, firing every timer that falls due on the way, in order (each at
   * its own time). Resolves once they have run and the promises they started have had their turn.
   */
  advance(ms: number): Promise<void>;
  /** How many timers are set and not yet fired. */
  readonly pending: number;
}

/**
 * Creates a {@link TestClock} starting at `start` (milliseconds since the epoch; default the real now).
 * Time stands still until `advance`; a timer set for no delay (or a deadline already past) fires on
 * its own, on the next turn of the event loop.
 *
 * @example
 * ```ts
 * const clock = createTestClock();
 * const runtime = createRuntime({ model, clock, timeouts: { totalMs: 60_000 } });
 * const run = runtime.start({ input: 'Take your time' });
 * await clock.advance(60_000); // the run times out, without waiting a minute
 * ```
 */
export function createTestClock(start = Date.now()): TestClock {
  let now = start;
  let nextId = 0;
  const timers = new Map<number, { at: number; callback: () => void }>();
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
  return {
    now: () => now,
    setTimeout(callback, ms) {
      const id = nextId++;
      timers.set(id, { at: now + Math.max(0, ms), callback });
      // A timer that is due already fires on its own, as a real one would; the others wait for `advance`.
      if (ms <= 0)
        setImmediate(() => {
          const timer = timers.get(id);
          if (timer === undefined || timer.at > now) return;
          timers.delete(id);
          timer.callback();
        });
      return id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    get pending() {
      return timers.size;
    },
    async advance(ms) {
      const until = now + ms;
      await settle();
      for (;;) {
        let due: [number, { at: number; callback: () => void }] | undefined;
        for (const entry of timers)
          if (entry[1].at <= until && (due === undefined || entry[1].at < due[1].at)) due = entry;
        if (due === undefined) break;
        timers.delete(due[0]);
        now = Math.max(now, due[1].at);
        due[1].callback();
        await settle();
      }
      now = until;
      await settle();
    },
  };
}
