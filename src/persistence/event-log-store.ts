import type { RunEvent } from '../streaming/run-event.js';
import type { WriterEpoch } from './journal-store.js';

/**
 * A run event as the event log keeps it. Token deltas are kept coalesced per content block: one
 * `text-delta` (or `thinking-delta`) with the whole block's text, the `seq` of its last delta, and
 * `firstSeq` and `parts` (the length of each delta) so a reader can start in the middle of it.
 */
export interface StoredRunEvent {
  event: RunEvent;
  firstSeq?: number;
  parts?: number[];
}

/** What `appendEvents` takes. */
export interface AppendEventsOptions extends WriterEpoch {
  /** The most events the run's log keeps; the oldest go first. */
  maxEvents: number;
}

/** The role of a store that keeps each run's event log, and hands out its event seqs. */
export interface EventLogStore {
  /**
   * Appends events to a run's log, in `seq` order after those it holds, dropping the oldest beyond
   * `maxEvents`, in one atomic batch. Events at or below the log's last `seq` are ignored.
   */
  appendEvents(runId: string, events: readonly StoredRunEvent[], options: AppendEventsOptions): Promise<void>;
  /** The run's logged events whose `seq` is `fromSeq` or more (coalesced deltas that reach it included), oldest first. */
  readEvents(runId: string, fromSeq?: number): Promise<StoredRunEvent[]>;
  /**
   * Reserves `count` event seqs for the run, durably, and returns the first: seqs never handed out
   * before for this run by any process (past every reservation and every logged event). A process
   * numbers a run's events only from seqs it reserved, so a crash leaves a gap, never a reuse.
   */
  reserveEventSeqs(runId: string, count: number, options?: WriterEpoch): Promise<number>;
}
