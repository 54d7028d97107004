/**
 * Where the runtime reads the time and sets its timers: deadlines, phase and tool timeouts, and
 * timestamps. A superset of XState's `Clock` (which has only the timers), so that tests can drive
 * time by hand instead of sleeping (`createTestClock` in `agentchart/testing`).
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real time and Node's timers: the default clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
