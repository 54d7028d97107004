import { type AnyActorLogic, type AnyActorRef, enqueueActions, fromPromise, setup } from 'xstate';
import { messageOf } from '../message-of.js';
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
  /**
   * The live runs, by run id, with the time each was spawned (ms since the epoch) and the id of
   * its child actor (its system id is the run id).
   */
  runs: Record<string, { spawnedAt: number; childId: string }>;
  /**
   * Child ids free to be used again. XState keeps, per state node, what it worked out for each
   * event type it saw, forever; a child id per run would make every run leave one
   * `xstate.done.actor.<id>` behind. Reused ids keep those to the most runs live at once.
   */
  freeChildIds: string[];
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

/** The run whose child actor has this id. */
const runOfChild = (context: SupervisorContext, childId: string) =>
  Object.entries(context.runs).find(([, run]) => run.childId === childId)?.[0];

/** The context with a run gone from the live runs (its child id free), counted and remembered among the recent. */
function depart(context: SupervisorContext, departed: DepartedRun): Partial<SupervisorContext> {
  const leaving = context.runs[departed.runId];
  if (leaving === undefined) return {};
  const { [departed.runId]: _, ...runs } = context.runs;
  return {
    runs,
    freeChildIds: [...context.freeChildIds, leaving.childId],
    totals: { ...context.totals, [departed.status]: context.totals[departed.status] + 1 },
    recent: [departed, ...context.recent].slice(0, 20),
  };
}

/**
 * The supervisor: one per runtime, it owns the runtime's runs as child actors (system id: the run
 * id; actor id: `run-N`, reused once a run has left), so an inspector shows them as one tree. It spawns a run new or from a stored
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
      const free = context.freeChildIds.at(-1);
      const childId = free ?? `run-${context.totals.spawned + 1}`;
      enqueue.spawnChild('run', { id: childId, systemId: event.runId, input: event.input });
      enqueue.assign({
        runs: { ...context.runs, [event.runId]: { spawnedAt: Date.now(), childId } },
        freeChildIds: free === undefined ? context.freeChildIds : context.freeChildIds.slice(0, -1),
        totals: { ...context.totals, spawned: context.totals.spawned + 1 },
      });
    }),
    stopRun: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'RUN.STOP') return;
      const run = context.runs[event.runId];
      if (run === undefined) return;
      enqueue.stopChild(run.childId);
      enqueue.assign(depart(context, { runId: event.runId, status: 'stopped', detail: event.reason }));
    }),
    recordEnd: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'RUN.ENDED') return;
      const run = context.runs[event.runId];
      if (run === undefined) return;
      enqueue.stopChild(run.childId);
      enqueue.assign(depart(context, { runId: event.runId, status: 'ended', detail: event.status }));
    }),
    recordCrash: enqueueActions(({ context, event, enqueue }) => {
      const childId = idOf(event.type);
      const runId = runOfChild(context, childId);
      if (runId === undefined) return;
      const error = 'error' in event ? event.error : undefined;
      enqueue.stopChild(childId);
      enqueue.assign(
        depart(context, {
          runId,
          status: 'crashed',
          detail: messageOf(error),
        }),
      );
    }),
  },
}).createMachine({
  id: 'supervisor',
  context: {
    runs: {},
    freeChildIds: [],
    totals: { spawned: 0, ended: 0, stopped: 0, crashed: 0 },
    recent: [],
  },
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
