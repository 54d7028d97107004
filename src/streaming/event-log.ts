import { Observable, Subject, type Subscriber } from 'rxjs';
import { runNotFound } from '../agentchart-error.js';
import type { EventLogStore, StoredRunEvent } from '../persistence/event-log-store.js';
import type { RunStore } from '../persistence/run-store.js';
import type { RunEvent } from './run-event.js';

type Delta = Extract<RunEvent, { type: 'text-delta' | 'thinking-delta' }>;

const isDelta = (event: RunEvent): event is Delta =>
  event.type === 'text-delta' || event.type === 'thinking-delta';
const deltaText = (event: Delta) => (event.type === 'text-delta' ? event.text : event.thinking);
const withText = (event: Delta, text: string): Delta =>
  event.type === 'text-delta' ? { ...event, text } : { ...event, thinking: text };

/** How long the log gathers events before it writes them, as one batch (readers see them meanwhile as pending). */
const batchMs = 10;

/** The most characters of a run's input its logged `run-start` keeps (its checkpoints keep it all). */
const loggedInputLength = 1_000;

/** The event as the log keeps it: a long input is not copied into every run and fork's log. */
function shortened(event: RunEvent): RunEvent {
  if (event.type !== 'run-start' || event.input.length <= loggedInputLength) return event;
  return { ...event, input: event.input.slice(0, loggedInputLength), inputTruncated: true };
}

/**
 * The event log of one live run: it takes the run's events in `seq` order and writes them to the
 * store in batches, token deltas coalesced per content block. Until an event is in the store it
 * is `pending`, so a reader that looks at the store and then at `pending` misses nothing.
 */
export interface RunEventLog {
  readonly runId: string;
  /** The events as the log takes them; completes when the run ends or leaves this process. */
  readonly live$: Observable<RunEvent>;
  /** True once the run's `run-end` is in the log (false while it runs, or after it left unended). */
  readonly ended: boolean;
  record(event: RunEvent): void;
  /** The events taken but not yet written, oldest first. */
  pending(): RunEvent[];
  /** Stops taking events (the run left this process without ending) and writes what it has. */
  detach(): Promise<void>;
  /** Resolves when everything taken so far is written (or could not be). */
  flushed(): Promise<void>;
}

/** Options of {@link createRunEventLog}. */
export interface RunEventLogOptions {
  runId: string;
  /** The store, once the run is in it; a rejection drops the log (the run never started). */
  store: () => Promise<EventLogStore>;
  maxEvents: number;
  /** Told of a batch that could not be written (the run goes on; its log has a gap). */
  onError?: (error: unknown) => void;
}

/** Creates the event log of a run (see {@link RunEventLog}). */
export function createRunEventLog(options: RunEventLogOptions): RunEventLog {
  const { runId, maxEvents } = options;
  const live = new Subject<RunEvent>();
  let unwritten: RunEvent[] = [];
  // Whole events ready to write, and the delta block still growing.
  let ready: StoredRunEvent[] = [];
  let block: { first: Delta; last: Delta; text: string; parts: number[] } | undefined;
  let writing: Promise<void> | undefined;
  let open = true;
  let ended = false;

  const closeBlock = () => {
    if (block === undefined) return;
    const { first, last, text, parts } = block;
    ready.push({ event: withText(last, text), firstSeq: first.seq, parts });
    block = undefined;
  };
  // One batch per `batchMs`: what arrives while a batch is being written waits for the next one
  // (written back to back, a busy run's log took a store write per step, beside its checkpoints).
  const write = async () => {
    const store = await options.store();
    const batch = ready;
    ready = [];
    if (batch.length === 0) return;
    const through = batch.at(-1)?.event.seq ?? -1;
    try {
      await store.appendEvents(runId, batch, { maxEvents });
    } catch (error) {
      options.onError?.(error);
    }
    unwritten = unwritten.filter((event) => event.seq > through);
  };
  const schedule = () => {
    if (writing !== undefined || ready.length === 0) return;
    writing = new Promise<void>((resolve) => setTimeout(resolve, batchMs))
      .then(write)
      .catch(() => {
        // The run never reached the store: nothing of it is logged.
        ready = [];
        unwritten = [];
      })
      .finally(() => {
        writing = undefined;
        schedule();
      });
  };
  /** Queues an event for writing: a delta joins its block, anything else closes the block. */
  const keep = (event: RunEvent) => {
    unwritten.push(event);
    if (!isDelta(event)) {
      closeBlock();
      ready.push({ event: shortened(event) });
      schedule();
      return;
    }
    const text = deltaText(event);
    if (block !== undefined && (block.last.type !== event.type || block.last.turn !== event.turn))
      closeBlock();
    if (block === undefined) block = { first: event, last: event, text, parts: [text.length] };
    else {
      block.last = event;
      block.text += text;
      block.parts.push(text.length);
    }
  };
  const flushed = async (): Promise<void> => {
    while (writing !== undefined) await writing;
  };

  return {
    runId,
    live$: live.asObservable(),
    get ended() {
      return ended;
    },
    record(event) {
      if (!open) return;
      // With no log (maxEvents 0) the events only pass through to live readers.
      if (maxEvents > 0) keep(event);
      if (event.type === 'run-end') {
        open = false;
        ended = true;
      }
      live.next(event);
      if (!open) live.complete();
    },
    pending: () => [...unwritten],
    async detach() {
      if (!open) return flushed();
      open = false;
      closeBlock();
      schedule();
      live.complete();
      return flushed();
    },
    flushed,
  };
}

/** Where a reader is: the `seq` of the last event it has had. */
export interface Cursor {
  seq: number;
}

/** The part of a logged event a reader past `cursor` has not had, or undefined if it has had it all. */
export function unseen(stored: StoredRunEvent, cursor: Cursor): RunEvent | undefined {
  const { event, firstSeq, parts } = stored;
  if (event.seq <= cursor.seq) return undefined;
  if (firstSeq === undefined || parts === undefined || firstSeq > cursor.seq || !isDelta(event)) return event;
  // A coalesced block the reader has part of: the text of the deltas after the cursor.
  const skipped = parts.slice(0, cursor.seq - firstSeq + 1).reduce((sum, length) => sum + length, 0);
  return withText(event, deltaText(event).slice(skipped));
}

/**
 * A reader's hand-off of a run's events to its subscriber: each event past its cursor once, in seq
 * order, completing after `run-end`. `stopped` once it completed, failed, or the subscriber left.
 */
export interface RunEventFollower {
  readonly cursor: Cursor;
  readonly stopped: boolean;
  /** Hands the event on if it is past the cursor (and completes after a `run-end`). */
  forward(event: RunEvent | undefined): void;
  /** Nothing more will come: completes the subscriber. */
  complete(): void;
  /** Fails the subscriber. */
  fail(error: unknown): void;
  /** The subscriber left: nothing more is handed on. */
  stop(): void;
}

/** Creates the {@link RunEventFollower} of a subscriber that reads from `fromSeq` on. */
export function runEventFollower(subscriber: Subscriber<RunEvent>, fromSeq: number): RunEventFollower {
  const cursor: Cursor = { seq: fromSeq - 1 };
  let stopped = false;
  const follower: RunEventFollower = {
    cursor,
    get stopped() {
      return stopped;
    },
    forward(event) {
      if (stopped || event === undefined || event.seq <= cursor.seq) return;
      cursor.seq = event.seq;
      subscriber.next(event);
      if (event.type === 'run-end') follower.complete();
    },
    complete() {
      if (stopped) return;
      stopped = true;
      subscriber.complete();
    },
    fail(error) {
      if (stopped) return;
      stopped = true;
      subscriber.error(error);
    },
    stop() {
      stopped = true;
    },
  };
  return follower;
}

/** What {@link followRunEvents} needs of the runtime. */
export interface EventLogSource {
  /** The store's event logs, and its runs (to tell a run that ended from one that never was). */
  store(): Promise<EventLogStore & Pick<RunStore, 'getRun'>>;
  /** The log of the run if it is live in this process (or still writing its end). */
  logOf(runId: string): RunEventLog | undefined;
  /** Whether a run of this id is being launched here (not in the store yet). */
  launching(runId: string): boolean;
  /** Emits the log of each run as it goes live in this process. */
  readonly opened$: Observable<RunEventLog>;
}

/**
 * The events of a run from `fromSeq` on: those in its log, then live ones as they happen, with no
 * gap and no duplicate. A run that is not live is followed until it ends: the Observable picks it
 * up again when it is resumed or answered in this process. Completes after `run-end`.
 */
export function followRunEvents(source: EventLogSource, runId: string, fromSeq = 0): Observable<RunEvent> {
  return new Observable<RunEvent>((subscriber) => {
    const follower = runEventFollower(subscriber, fromSeq);
    const { cursor, forward } = follower;
    let attached: { unsubscribe(): void } | undefined;

    /** Catches up from the store and the log's pending events, then follows the log live. */
    const attach = async (log: RunEventLog | undefined) => {
      if (follower.stopped) return;
      const early: RunEvent[] = [];
      let caughtUp = false;
      attached?.unsubscribe();
      attached = log?.live$.subscribe((event) => (caughtUp ? forward(event) : early.push(event)));
      const pending = log?.pending() ?? [];
      const store = await source.store();
      const stored = await store.readEvents(runId, cursor.seq + 1);
      for (const event of stored) forward(unseen(event, cursor));
      for (const event of pending) forward(event);
      for (const event of early) forward(event);
      caughtUp = true;
      if (follower.stopped) return;
      // The run ended here, and the reader already had its end: there is nothing more to come.
      if (log?.ended === true) {
        follower.complete();
        return;
      }
      if (log !== undefined) return;
      // Not live here: it ended before its end was logged, or it waits to be resumed in this process.
      const record = await store.getRun(runId);
      // Not in the store yet may mean being launched (or registered while we read).
      const known = source.launching(runId) || source.logOf(runId) !== undefined;
      if (record === undefined && cursor.seq < 0 && !known) {
        throw runNotFound(runId);
      }
      if (record !== undefined && terminal.has(record.status)) follower.complete();
    };
    // One catch-up at a time, so events go out in order.
    let chain = Promise.resolve();
    const request = (log: RunEventLog | undefined) => {
      chain = chain.then(() => attach(log)).catch((error: unknown) => follower.fail(error));
    };
    const launches = source.opened$.subscribe((log) => {
      if (log.runId === runId) request(log);
    });
    request(source.logOf(runId));
    return () => {
      follower.stop();
      launches.unsubscribe();
      attached?.unsubscribe();
    };
  });
}

const terminal = new Set<string>(['done', 'failed', 'cancelled']);

/** The runtime's event logs of its live runs: it opens one per launch and finds them for readers. */
export interface EventLogRegistry extends EventLogSource {
  /** Creates the log of a run being launched; it is found by readers once `registered` is called. */
  create(runId: string, store: () => Promise<EventLogStore>): RunEventLog;
  /** Makes the log findable (once the run is in the store). */
  register(log: RunEventLog): void;
  /** Forgets the log once everything it took is written; `detach` first for a run that did not end. */
  release(log: RunEventLog, options?: { detach?: boolean }): Promise<void>;
  /**
   * Reserves `count` seqs for a run launched now under its id, once any earlier log of it in this
   * process is written (so that the log stays in seq order); resolves with the first.
   */
  reserveSeqs(runId: string, store: EventLogStore, count: number): Promise<number>;
  /** Resolves when every log is written. */
  flushed(): Promise<void>;
}

/** Creates the runtime's {@link EventLogRegistry}. */
export function createEventLogRegistry(options: {
  store: () => Promise<EventLogStore & Pick<RunStore, 'getRun'>>;
  maxEvents: number;
  onError?: (error: unknown) => void;
}): EventLogRegistry {
  const logs = new Map<string, RunEventLog>();
  const created = new Map<string, RunEventLog>();
  const releasing = new Map<string, Promise<void>>();
  const opened = new Subject<RunEventLog>();
  return {
    store: options.store,
    opened$: opened.asObservable(),
    logOf: (runId) => logs.get(runId),
    launching: (runId) => created.has(runId),
    create(runId, store) {
      const log = createRunEventLog({
        runId,
        store,
        maxEvents: options.maxEvents,
        ...(options.onError === undefined ? {} : { onError: options.onError }),
      });
      created.set(runId, log);
      return log;
    },
    register(log) {
      if (created.get(log.runId) === log) created.delete(log.runId);
      logs.set(log.runId, log);
      opened.next(log);
    },
    release(log, { detach = false } = {}) {
      if (created.get(log.runId) === log) created.delete(log.runId);
      const done = (detach ? log.detach() : log.flushed()).then(() => {
        if (logs.get(log.runId) === log) logs.delete(log.runId);
        if (releasing.get(log.runId) === done) releasing.delete(log.runId);
      });
      releasing.set(log.runId, done);
      return done;
    },
    async reserveSeqs(runId, store, count) {
      await releasing.get(runId);
      return store.reserveEventSeqs(runId, count);
    },
    async flushed() {
      await Promise.all([...logs.values()].map((log) => log.flushed()));
      await Promise.all(releasing.values());
    },
  };
}
