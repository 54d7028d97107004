import type { Message, ToolResultBlock } from '../model/message.js';
import type { RunEvent } from '../streaming/run-event.js';
import type { CheckpointEnvelope, CheckpointMeta, CheckpointStatus } from './checkpoint-envelope.js';

/** A run as the store knows it: its status and its latest checkpoint, versioned for compare-and-set. */
export interface RunRecord {
  runId: string;
  status: CheckpointStatus;
  /** Bumped by every write to the run; a write that expected another version is refused. */
  version: number;
  headCheckpointId: string | null;
  /** The step number of the head checkpoint (-1 before the first). */
  stepNum: number;
  /**
   * The highest step number the run ever wrote. The next checkpoint takes a higher one, even after
   * its newest checkpoints were deleted, so that a checkpoint id never names two contents.
   */
  lastStepNum: number;
  /** How many messages the run's log holds. */
  messageCount: number;
  /** The checkpoint (of another run) this run was started from, if any. */
  forkOf: string | null;
  createdAt: string;
  updatedAt: string;
}

/** A new run: its id, where it came from, the messages it starts with, and its first checkpoint. */
export interface NewRun {
  runId: string;
  forkOf: string | null;
  messages: readonly Message[];
  /** Written with the run, atomically, so that a run in the store can always be resumed. */
  firstCheckpoint?: CheckpointEnvelope;
  /**
   * Event seqs reserved for the run with it, atomically (seqs 0 to n - 1): the run hands them out
   * before its record is stored, and no later process hands them out again.
   */
  reservedEventSeqs?: number;
}

/** A session as the store knows it: its version (bumped by each commit) and how many messages it holds. */
export interface SessionRecord {
  sessionId: string;
  version: number;
  messageCount: number;
  createdAt: string;
  updatedAt: string;
}

/** A message of a session: what was said, by which run, and when. */
export interface SessionMessage extends Message {
  runId: string;
  at: string;
}

/** The messages a run adds to its session, and the session version it started from. */
export interface SessionCommit {
  runId: string;
  messages: readonly SessionMessage[];
  expectedVersion: number;
}

/** What `listCheckpoints` takes. */
export interface CheckpointQuery {
  runId?: string;
  /** Only checkpoints that carry every one of these tags. */
  tags?: readonly string[];
  limit?: number;
  /** `desc` (newest first, the default) or `asc`. */
  order?: 'asc' | 'desc';
}

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
export interface AppendEventsOptions {
  /** The most events the run's log keeps; the oldest go first. */
  maxEvents: number;
}

/** What `listRuns` takes. */
export interface RunQuery {
  status?: CheckpointStatus | readonly CheckpointStatus[];
  limit?: number;
}

/**
 * Where runs, checkpoints, messages and the tool-call journal are kept. One narrow interface for
 * every backend (memory, LevelDB, later Redis), each checked by the contract suite in
 * `agentchart/testing`. Writes that belong together are one atomic batch; run heads change by
 * compare-and-set on `version` (a stale write fails with `CONCURRENCY`, and nothing is lost).
 */
export interface CheckpointStore {
  /**
   * Records a new run, with its first checkpoint if given, in one atomic batch; `DUPLICATE_RUN_ID`
   * if one with that id exists. Its messages go to its log.
   */
  createRun(run: NewRun): Promise<RunRecord>;
  getRun(runId: string): Promise<RunRecord | undefined>;
  listRuns(query?: RunQuery): Promise<RunRecord[]>;
  /** Changes a run's status without a checkpoint (a run that ends under the `manual` policy). */
  setRunStatus(runId: string, status: CheckpointStatus, expectedVersion: number): Promise<RunRecord>;
  /**
   * Appends a checkpoint to its run in one atomic batch: the messages the run's log does not hold
   * yet, the checkpoint, its indexes and the run's new head. Its `stepNum` must follow the head's.
   */
  appendCheckpoint(envelope: CheckpointEnvelope, expectedVersion: number): Promise<RunRecord>;
  /** The whole checkpoint, messages included; `CHECKPOINT_CORRUPT` or `CHECKPOINT_INVALID` if its data is bad. */
  getCheckpoint(checkpointId: string): Promise<CheckpointEnvelope | undefined>;
  listCheckpoints(query?: CheckpointQuery): Promise<CheckpointMeta[]>;
  /** Deletes a checkpoint (its messages stay: other checkpoints share them). False if there was none. */
  deleteCheckpoint(checkpointId: string): Promise<boolean>;
  /** The runs started from checkpoints of this run (forks, resumes of older points), with the checkpoint each started from. */
  listForks(runId: string): Promise<{ runId: string; forkOf: string }[]>;
  /** A session, or undefined before its first commit. */
  getSession(sessionId: string): Promise<SessionRecord | undefined>;
  /** A session's messages from index `from` (default 0) on, oldest first. */
  readSessionMessages(sessionId: string, from?: number): Promise<SessionMessage[]>;
  /**
   * Appends a run's messages to a session, atomically, if the session is still at
   * `expectedVersion` (0 for a new session); `ConcurrencyError` otherwise, and nothing is written.
   * A run commits once: committing the same run again changes nothing and returns the record.
   */
  commitToSession(sessionId: string, commit: SessionCommit): Promise<SessionRecord>;
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
  reserveEventSeqs(runId: string, count: number): Promise<number>;
  /** The journal of tool calls: a result recorded here is never executed again for that run. */
  getToolResult(runId: string, toolCallId: string): Promise<ToolResultBlock | undefined>;
  putToolResult(runId: string, result: ToolResultBlock): Promise<void>;
  close(): Promise<void>;
}
