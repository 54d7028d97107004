import type { AgentRunSnapshot } from '../../machines/agent-run-machine.js';
import type { AgentRunInput } from '../../machines/agent-run-types.js';
import type { CheckpointStore } from '../../persistence/checkpoint-store.js';
import type { RunRecord } from '../../persistence/run-store.js';

/** The store's side of a run, ready before it starts. */
export interface PreparedRun {
  store: CheckpointStore;
  /** The run's record, its first checkpoint written. */
  record: RunRecord;
  /** Whether this launch wrote that checkpoint (it is then announced as the run's first `checkpoint` event). */
  created: boolean;
}

/** One run to launch: a fresh one (`input`) or a restored one (`snapshot`). */
export interface RunSpec {
  runId: string;
  /** The text of the run's first user message. */
  inputText: string;
  /**
   * A new run (`input`), a run continued from its context after it ended (`input.context`, with
   * `resumedFrom`), or a restored one (`snapshot`).
   */
  start:
    | { input: AgentRunInput; resumedFrom?: string }
    | { input: AgentRunInput; snapshot: Record<string, unknown>; resumedFrom: string };
  /**
   * The store work to do before the run starts: creating its record with its first checkpoint (made
   * from the actor's state before it starts), and with `eventSeqs` event seqs reserved from 0 when
   * the run is new. A failure ends the run as data.
   */
  prepare: (initial: {
    snapshot: AgentRunSnapshot;
    persisted: Record<string, unknown>;
    eventSeqs: number;
  }) => Promise<PreparedRun>;
  signal: AbortSignal | undefined;
  /**
   * The event seqs reserved for a run that continues under its id (`store.reserveEventSeqs`); a new
   * run reserves its first ones with its record, from 0.
   */
  firstSeqs?: { start: number; count: number };
}

/** Why a run leaves this process without ending. */
export type LeaveReason = 'unloaded' | 'runtime closed';
