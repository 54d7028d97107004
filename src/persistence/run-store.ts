import type { Message } from '../model/message.js';
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
  /**
   * The owner epoch (a fencing token): bumped by whoever takes the run over (`claimRun`: a resume,
   * a recovery, a worker). A write that carries an older epoch is refused with `CONCURRENCY`.
   */
  epoch: number;
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
  /**
   * The first `count` messages are those of checkpoint `checkpointId` (the one `forkOf` names, or
   * the one a run resumed as a new run started from): the new run shares them instead of copying
   * them. A store that does not hold that checkpoint stores the messages as they are.
   */
  inherits?: { checkpointId: string; count: number };
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

/** What `listRuns` takes. */
export interface RunQuery {
  status?: CheckpointStatus | readonly CheckpointStatus[];
  limit?: number;
}

/**
 * The role of a store that keeps runs and their checkpoints. Writes that belong together are one
 * atomic batch; run heads change by compare-and-set on `version` (a stale write fails with
 * `CONCURRENCY`, and nothing is lost).
 */
export interface RunStore {
  /**
   * Records a new run, with its first checkpoint if given, in one atomic batch; `DUPLICATE_RUN_ID`
   * if one with that id exists. Its messages go to its log.
   */
  createRun(run: NewRun): Promise<RunRecord>;
  getRun(runId: string): Promise<RunRecord | undefined>;
  listRuns(query?: RunQuery): Promise<RunRecord[]>;
  /**
   * Takes a run over: bumps its owner epoch (and its version), if it is still at `expectedVersion`;
   * `CONCURRENCY` otherwise, and nothing is written. From then on, writes of the run that carry an
   * older epoch (or expect an older version) are refused: a process that lost the run writes nothing.
   */
  claimRun(runId: string, expectedVersion: number): Promise<RunRecord>;
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
  /**
   * Deletes a checkpoint (its messages stay: other checkpoints share them). Deleting a run's head
   * moves the head back to the checkpoint before it, atomically. False if there was none.
   */
  deleteCheckpoint(checkpointId: string): Promise<boolean>;
  /** The runs started from checkpoints of this run (forks, resumes of older points), with the checkpoint each started from. */
  listForks(runId: string): Promise<{ runId: string; forkOf: string }[]>;
}
