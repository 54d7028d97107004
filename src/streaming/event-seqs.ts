/** The seqs a run hands its events, from ranges reserved durably in its store before use. */
export interface EventSeqs {
  /**
   * The next seq, or undefined while none is available: a reservation is under way, or (once
   * `exhausted`) none will ever be.
   */
  take(): number | undefined;
  /**
   * True once a reservation has failed and every seq reserved before it is used: the run numbers
   * no more events.
   */
  readonly exhausted: boolean;
  /** Called when a reservation settles after `take` returned undefined: seqs are available, or `exhausted`. */
  onSettled(listener: () => void): void;
}

/** What {@link createEventSeqs} takes. */
export interface EventSeqsOptions {
  /** The range reserved before the run started: `count` seqs from `start`. */
  first: { start: number; count: number };
  /** Reserves `count` more seqs in the store, durably; resolves with the first. */
  reserve(count: number): Promise<number>;
  /** How many seqs one reservation takes; the next is asked for when half the current range is left. */
  rangeSize: number;
  /**
   * Told when a reservation fails (the store is failing; the run fails with it). No other
   * reservation is tried: the seqs left in the ranges reserved before go out, then none.
   */
  onError(error: unknown): void;
}

/**
 * Creates a run's {@link EventSeqs}. A seq is handed out only from a range the store has reserved
 * for the run, so no process ever hands out a seq another one did: a crash leaves a gap (the
 * unused rest of a range), never a reuse.
 *
 * When a reservation fails, the seqs run out rather than go on past the last range. A seq the
 * store has not reserved is not safe to hand out: the run's store still holds it as running (its
 * failed end may not be stored either), so a later `resume` or `recover` reserves from what is
 * stored and would number its own events with the same seqs, and a client reconnecting with its
 * `Last-Event-ID` would skip them. So the run hands out what is left of its reserved ranges, then
 * its events stop (`exhausted`), its `run-end` included: it leaves its stream as a stopped process
 * would, a gap and no reuse, and its result says that the store failed.
 */
export function createEventSeqs(options: EventSeqsOptions): EventSeqs {
  const { rangeSize } = options;
  const ranges: { next: number; end: number }[] = [
    { next: options.first.start, end: options.first.start + options.first.count },
  ];
  let reservation: 'idle' | 'under way' | 'failed' = 'idle';
  let waiting = false;
  const listeners: (() => void)[] = [];
  const left = () => ranges.reduce((sum, range) => sum + (range.end - range.next), 0);
  /** The range the next seq comes from, once used ranges are dropped. */
  const current = () => {
    while (ranges[0] !== undefined && ranges[0].next >= ranges[0].end) ranges.shift();
    return ranges[0];
  };
  const settled = () => {
    if (!waiting) return;
    waiting = false;
    for (const listener of listeners) listener();
  };
  const reserveMore = () => {
    if (reservation !== 'idle') return;
    reservation = 'under way';
    options.reserve(rangeSize).then(
      (start) => {
        reservation = 'idle';
        ranges.push({ next: start, end: start + rangeSize });
        settled();
      },
      (error: unknown) => {
        reservation = 'failed';
        options.onError(error);
        settled();
      },
    );
  };
  return {
    take() {
      const range = current();
      if (left() <= rangeSize / 2) reserveMore();
      if (range === undefined) {
        waiting = true;
        return undefined;
      }
      return range.next++;
    },
    get exhausted() {
      return reservation === 'failed' && current() === undefined;
    },
    onSettled(listener) {
      listeners.push(listener);
    },
  };
}
