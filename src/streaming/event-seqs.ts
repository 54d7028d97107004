/** The seqs a run hands its events, from ranges reserved durably in its store before use. */
export interface EventSeqs {
  /** The next seq, or undefined while every reserved seq is used (a reservation is then under way). */
  take(): number | undefined;
  /** Called whenever seqs become available again after `take` returned undefined. */
  onAvailable(listener: () => void): void;
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
   * Told when a reservation fails (the store is failing). The seqs then go on past the last range,
   * unreserved, so that the run's last events still go out; the run fails with the store.
   */
  onError(error: unknown): void;
}

/**
 * Creates a run's {@link EventSeqs}. A seq is handed out only from a range the store has reserved
 * for the run, so no process ever hands out a seq another one did: a crash leaves a gap (the
 * unused rest of a range), never a reuse.
 */
export function createEventSeqs(options: EventSeqsOptions): EventSeqs {
  const { rangeSize } = options;
  const ranges: { next: number; end: number }[] = [
    { next: options.first.start, end: options.first.start + options.first.count },
  ];
  let reserving = false;
  let waiting = false;
  const listeners: (() => void)[] = [];
  const left = () => ranges.reduce((sum, range) => sum + (range.end - range.next), 0);
  const added = (start: number, count: number) => {
    ranges.push({ next: start, end: start + count });
    if (!waiting) return;
    waiting = false;
    for (const listener of listeners) listener();
  };
  const reserveMore = () => {
    if (reserving) return;
    reserving = true;
    options.reserve(rangeSize).then(
      (start) => {
        reserving = false;
        added(start, rangeSize);
      },
      (error: unknown) => {
        options.onError(error);
        const last = ranges.at(-1)?.end ?? options.first.start;
        added(last, Number.POSITIVE_INFINITY);
      },
    );
  };
  return {
    take() {
      let range = ranges[0];
      while (range !== undefined && range.next >= range.end) {
        ranges.shift();
        range = ranges[0];
      }
      if (left() <= rangeSize / 2) reserveMore();
      if (range === undefined) {
        waiting = true;
        return undefined;
      }
      return range.next++;
    },
    onAvailable(listener) {
      listeners.push(listener);
    },
  };
}
