import { type AnyActorLogic, type AnyActorRef, enqueueActions, fromPromise, setup } from 'xstate';
import type { AgentRunInput } from './agent-run-types.js';

/** What the supervisor spawns a run with: a new run's input, or a stored snapshot to restore. */
export interface SupervisedRunInput {
  run: AgentRunInput;
  /** An XState persisted snapshot of the run statechart (spawn has no snapshot option of its own). */
  snapshot?: Record<string, unknown>;
}

/** How a run left the supervisor. */
export interface DepartedRun {
  runId: string;
  /** `ended` (its statechart ended), `stopped` (unloaded or closed: resumable from its checkpoint), or `crashed`. */
  status: 'ended' | 'stopped' | 'crashed';
  detail?: string;
}

/**
 * What the supervisor reports: its live runs, counts since it started, and the last runs that left.
 * Only live runs are kept, so that its work per event does not grow with every run it ever had.
 */
export interface SupervisorContext {
  /** The live runs, by run id, with the time each was spawned (ms since the epoch). */
  runs: Record<string, { spawnedAt: number }>;
  totals: { spawned: number; ended: number; stopped: number; crashed: number };
  /** The last 20 runs that left, newest first. */
  recent: DepartedRun[];
}

export type SupervisorEvent =
  | { type: 'RUN.SPAWN'; runId: string; input: SupervisedRunInput }
  | { type: 'RUN.STOP'; runId: string; reason: string }
  | { type: 'RUN.ENDED'; runId: string; status: string }
  | { type: `xstate.done.actor.${string}`; output?: unknown }
  | { type: `xstate.error.actor.${string}`; error: unknown };

const idOf = (eventType: string) => eventType.split('.').slice(3).join('.');

/** The context with a run gone from the live runs, counted and remembered among the recent. */
function depart(context: SupervisorContext, departed: DepartedRun): Partial<SupervisorContext> {
  if (context.runs[departed.runId] === undefined) return {};
  const { [departed.runId]: _, ...runs } = context.runs;
  return {
    runs,
    totals: { ...context.totals, [departed.status]: context.totals[departed.status] + 1 },
    recent: [departed, ...context.recent].slice(0, 20),
  };
}

/**
 * The supervisor: one per runtime, it owns the runtime's runs as child actors (id and system id:
 * the run id), so an inspector shows them as one tree. It spawns a run new or from a stored
 * snapshot, stops it (for unloading or shutdown; it can be spawned again), and keeps a report of
 * each. A run that crashes is recorded; it takes neither the supervisor nor its siblings down.
 * The `run` actor is given with `provide()` by the runtime (see {@link supervisedRunLogic}).
 */
export const supervisorMachine = setup({
  types: { context: {} as SupervisorContext, events: {} as SupervisorEvent },
  actors: {
    run: fromPromise<void, SupervisedRunInput>(() => {
      throw new Error('supervisorMachine: actor `run` must be provided with machine.provide()');
    }),
  },
  actions: {
    spawnRun: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'RUN.SPAWN') return;
      enqueue.spawnChild('run', { id: event.runId, systemId: event.runId, input: event.input });
      enqueue.assign({
        runs: { ...context.runs, [event.runId]: { spawnedAt: Date.now() } },
        totals: { ...context.totals, spawned: context.totals.spawned + 1 },
      });
    }),
    stopRun: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'RUN.STOP') return;
      enqueue.stopChild(event.runId);
      enqueue.assign(({ context }) =>
        depart(context, { runId: event.runId, status: 'stopped', detail: event.reason }),
      );
    }),
    recordEnd: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'RUN.ENDED' || context.runs[event.runId] === undefined) return;
      enqueue.stopChild(event.runId);
      enqueue.assign(depart(context, { runId: event.runId, status: 'ended', detail: event.status }));
    }),
    recordCrash: enqueueActions(({ context, event, enqueue }) => {
      const runId = idOf(event.type);
      const error = 'error' in event ? event.error : undefined;
      enqueue.stopChild(runId);
      enqueue.assign(
        depart(context, {
          runId,
          status: 'crashed',
          detail: error instanceof Error ? error.message : String(error),
        }),
      );
    }),
  },
}).createMachine({
  id: 'supervisor',
  context: { runs: {}, totals: { spawned: 0, ended: 0, stopped: 0, crashed: 0 }, recent: [] },
  on: {
    'RUN.SPAWN': { actions: 'spawnRun' },
    'RUN.STOP': { actions: 'stopRun' },
    'RUN.ENDED': { actions: 'recordEnd' },
    // The runtime reports each end with how it ended (RUN.ENDED); the statechart's own done event adds nothing.
    'xstate.done.actor.*': {},
    'xstate.error.actor.*': { actions: 'recordCrash' },
  },
});

/**
 * The run statechart as the supervisor spawns it: its initial snapshot is the one in its input
 * when there is one (a run restored from a checkpoint), and a new run's otherwise.
 */
export function supervisedRunLogic<TLogic extends AnyActorLogic>(
  machine: TLogic,
  /** Told of each run actor as it is created (before it starts, and so before it can end). */
  onCreate?: (self: AnyActorRef, input: SupervisedRunInput) => void,
): TLogic {
  const logic = Object.create(machine) as TLogic;
  logic.getInitialSnapshot = (scope, input: SupervisedRunInput) => {
    onCreate?.(scope.self, input);
    return input.snapshot === undefined
      ? machine.getInitialSnapshot(scope, input.run)
      : (machine.restoreSnapshot?.(input.snapshot as never, scope) ??
          machine.getInitialSnapshot(scope, input.run));
  };
  return logic;
}
