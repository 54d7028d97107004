import type { Observable } from 'rxjs';
import type { Actor } from 'xstate';
import type { agentRunMachine } from '../machines/agent-run-machine.js';
import type { CheckpointMeta } from '../persistence/checkpoint-envelope.js';
import type { RunResult } from '../run-result.js';
import type { RunEvent } from '../streaming/run-event.js';
import type { CheckpointLabel } from './checkpointer.js';

/** The XState actor of a run, for users who want to inspect or drive it directly. */
export type AgentRunActor = Actor<typeof agentRunMachine>;

/**
 * A run in progress. Iterate it (`for await (const event of run)`) or subscribe to `events$` for
 * everything it does; `await run.result` for how it ended (it never rejects: failures are data).
 */
export interface RunHandle extends AsyncIterable<RunEvent> {
  readonly id: string;
  /** Hot: a subscriber gets the events from when it subscribes; one that arrives after the end gets `run-end`. */
  readonly events$: Observable<RunEvent>;
  readonly result: Promise<RunResult>;
  readonly actor: AgentRunActor;
  /**
   * Writes a checkpoint of the run as it is now, whatever the policy, with tags and a description
   * to find it by. Resolves with its description once it is stored; `RUN_ENDED` after the end.
   */
  checkpoint(label?: CheckpointLabel): Promise<CheckpointMeta>;
}
