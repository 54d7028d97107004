import type { Observable } from 'rxjs';
import type { AgentRunActor } from '../../machines/agent-run-machine.js';
import type { CheckpointMeta } from '../../persistence/checkpoint-envelope.js';
import type { RunResult } from '../../run-result.js';
import type { RunEvent } from '../../streaming/run-event.js';
import type { CheckpointLabel } from '../checkpoints/checkpointer.js';

/**
 * A run in progress. Iterate it (`for await (const event of run)`) or subscribe to `events$` for
 * everything it does; `await run.result` for how it ended (it never rejects: failures are data).
 */
export interface RunHandle extends AsyncIterable<RunEvent> {
  readonly id: string;
  /**
   * Hot: a subscriber gets the events from when it subscribes; one that arrives after the end gets
   * `run-end`. A run whose store failed to reserve event seqs completes it without `run-end`.
   */
  readonly events$: Observable<RunEvent>;
  readonly result: Promise<RunResult>;
  /**
   * Resolves once the run is in its store (or, on a cluster, in the queue), so that another process
   * finds it; also when it was refused (`result` then says why). Never rejects.
   */
  readonly started: Promise<void>;
  readonly actor: AgentRunActor;
  /**
   * Writes a checkpoint of the run as it is now, whatever the policy, with tags and a description
   * to find it by. Resolves with its description once it is stored; `RUN_ENDED` after the end.
   */
  checkpoint(label?: CheckpointLabel): Promise<CheckpointMeta>;
  /**
   * Pauses the run at once: a model turn in flight is aborted (and asked again on resume; its
   * tokens are not counted), tool calls in flight finish and are journaled. Resolves once the run is
   * paused and its checkpoint written. `RUN_ENDED` if it has ended.
   */
  pause(): Promise<void>;
  /** Resumes a paused run where it was (a no-op for a run that is not paused). */
  resume(): Promise<void>;
  /** Cancels the run (the first reason wins) and resolves with its result. */
  cancel(reason?: string): Promise<RunResult>;
  /**
   * Answers a question (`input` request); `INPUT_INVALID` if the value fails its schema, and
   * `TOOL_NOT_FOUND` if the run's tools lack the question's tool (the run keeps waiting).
   */
  respond(requestId: string, value: unknown): Promise<void>;
  /** Approves a tool call (`approval` request): it runs. `TOOL_NOT_FOUND` (the run keeps waiting) if the run's tools lack it. */
  approve(requestId: string): Promise<void>;
  /** Rejects a tool call (`approval` request): the model is told, with the reason, and the call does not run. */
  reject(requestId: string, reason?: string): Promise<void>;
  /**
   * Drops the run from memory if it is parked (`paused` or `waiting_input`) once its checkpoint is on
   * disk; `result` then resolves with that status. Answering or resuming loads it again.
   */
  unload(): Promise<void>;
}
