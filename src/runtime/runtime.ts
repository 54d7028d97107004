import type { Observable } from 'rxjs';
import type { CheckpointEnvelope, CheckpointMeta } from '../persistence/checkpoint-envelope.js';
import type { CheckpointQuery, RunQuery, RunRecord } from '../persistence/run-store.js';
import type { RunResult } from '../run-result.js';
import type { Session, SessionOptions } from '../sessions/session.js';
import type { RunEvent } from '../streaming/run-event.js';
import type { ResumeSource } from './checkpoints/load-checkpoint.js';
import type { ForkModifications, ForkOptions } from './history/fork-run.js';
import type { ReplayReport } from './history/replay-run.js';
import type { RunComparison, RunHistory, RunPoint } from './history/run-history.js';
import type { RunHandle } from './run/run-handle.js';
import type { RunStatusInfo } from './run/run-status.js';
import type { Supervisor } from './run/supervisor.js';
import type { ClusterWorker, WorkOptions } from './runtime-cluster.js';
import type { RecoverOptions, ResumeOptions, StartOptions } from './runtime-config.js';

/** Owns the runs of one process: starts, controls, resumes and recovers them, and reads their checkpoints. */
export interface Runtime {
  /** Starts a run. It begins once stored, on a later turn of the event loop: subscribing right after `start` misses nothing. */
  start(options: StartOptions): RunHandle;
  /**
   * Continues a run. `from` is a run id (a paused run resumes; a stored run is loaded from its latest
   * checkpoint), a checkpoint id, a path to an exported checkpoint, or an envelope object. The
   * latest checkpoint of a run continues that run; an older one (or `options.runId`) starts a new
   * run from it, so history is never overwritten. A run that ended on a budget or a timeout
   * continues with the `limits` or `timeoutMs` given. Resolves once the run is live.
   */
  resume(from: ResumeSource, options?: ResumeOptions): Promise<RunHandle>;
  /** Pauses a live run (see `RunHandle.pause`). */
  pause(runId: string): Promise<void>;
  /** Cancels a run, loading it if it is parked, and resolves with its result. */
  cancel(runId: string, reason?: string): Promise<RunResult>;
  /** Where a run is: live or stored, its status and phase, and what it waits on. */
  status(runId: string): Promise<RunStatusInfo>;
  /** Answers a question of a run, loading the run if it is parked (see `RunHandle.respond`). */
  respond(runId: string, requestId: string, value: unknown): Promise<RunHandle>;
  approve(runId: string, requestId: string): Promise<RunHandle>;
  reject(runId: string, requestId: string, reason?: string): Promise<RunHandle>;
  /**
   * A conversation over many runs (one per user message), loaded from the store (a new one is
   * empty): its history is bounded, and each run commits its messages with compare-and-set.
   */
  session(sessionId: string, options?: SessionOptions): Promise<Session>;
  /**
   * Resumes every stored run whose latest checkpoint is not terminal (after a crash or restart).
   * With `unloadParked`, parked runs stay on disk until they are answered or resumed.
   */
  recover(options?: RecoverOptions): Promise<RunHandle[]>;
  /**
   * Starts a new run from a checkpoint, with modifications (system prompt, input, messages, model,
   * limits, tools); the original is untouched and the fork records `forkOf`.
   */
  fork(checkpointId: string, options?: ForkOptions): Promise<RunHandle>;
  /** Forks one checkpoint several ways at once; the branches run concurrently. */
  forkMany(checkpointId: string, branches: readonly ForkModifications[]): Promise<RunHandle[]>;
  /** A run's checkpoints in order (step, phase, messages, usage, summary) and its fork tree. */
  history(runId: string): Promise<RunHistory>;
  /** A read-only view of one checkpoint: messages, state, usage, pending requests. */
  at(checkpointId: string): Promise<RunPoint>;
  /** How two runs differ: common ancestor, divergence, answers, usage and cost, tool calls. */
  compare(runIdA: string, runIdB: string): Promise<RunComparison>;
  /**
   * Drives the statechart again from a run's recorded model turns and tool results, calling
   * neither the model nor any tool and writing nothing, and reports whether it reached the same
   * states and answer (up to `untilStep`, a checkpoint's step, when given).
   */
  replay(runId: string, options?: { untilStep?: number }): Promise<ReplayReport>;
  /**
   * A run's events from `fromSeq` on (default 0): those in its event log, then the live ones, with
   * no gap and no duplicate, for a client that reconnects after a disconnect or a restart. Token
   * deltas from the log come coalesced per content block (a block the client had part of comes as
   * the rest of its text). A parked run is followed until it is resumed or answered in this
   * runtime. Completes after `run-end`; errors with `RUN_NOT_FOUND` for an unknown run.
   */
  events(runId: string, options?: { fromSeq?: number }): Observable<RunEvent>;
  readonly checkpoints: {
    /** Checkpoint descriptions, newest first unless `order: 'asc'`. */
    list(query?: CheckpointQuery): Promise<CheckpointMeta[]>;
    /** The whole checkpoint; `CHECKPOINT_NOT_FOUND` if there is none. */
    get(checkpointId: string): Promise<CheckpointEnvelope>;
    delete(checkpointId: string): Promise<boolean>;
    /**
     * Writes the checkpoint, self-contained, as JSON to `path`, or to `ID.json` in it when it is a
     * folder (resumable with `resume(file)`), and resolves with the file's path. The file appears
     * whole or not at all (written beside it, then renamed); `INVALID_ARGUMENT` for a missing folder.
     */
    export(checkpointId: string, path: string): Promise<string>;
  };
  /**
   * The supervisor actor that owns the live runs as children (id and system id: the run id). Its
   * context reports each run (`running`, `ended`, `stopped`, `crashed`); `RUN.STOP` stops one at
   * once, as a crash would (it stays resumable).
   */
  readonly supervisor: Supervisor['actor'];
  readonly runs: {
    list(query?: RunQuery): Promise<RunRecord[]>;
    get(runId: string): Promise<RunRecord | undefined>;
  };
  /**
   * Makes this process a worker of the runtime's cluster: it takes runs from the queue and executes
   * them from the shared store. `INVALID_ARGUMENT` without `createRuntime({ cluster })`.
   */
  work(options?: WorkOptions): Promise<ClusterWorker>;
  /**
   * Stops the live runs once their checkpoints are written (they stay resumable: `recover()` in the
   * next process continues them; their results say `cancelled`, reason `runtime closed`,
   * `recoverable: true`), refuses new ones, and closes the store it opened.
   */
  close(): Promise<void>;
}
