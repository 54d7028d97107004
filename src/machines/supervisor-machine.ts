import { type AnyActorLogic, assign, enqueueActions, fromPromise, setup } from 'xstate';
import type { AgentRunInput } from './agent-run-types.js';

/** What the supervisor spawns a run with: a new run's input, or a stored snapshot to restore. */
export interface SupervisedRunInput {
  run: AgentRunInput;
  /** An XState persisted snapshot of the run statechart (spawn has no snapshot option of its own). */
  snapshot?: Record<string, unknown>;
}

/** What the supervisor knows of one of its runs. */
export interface SupervisedRun {
  /** `running`, `ended` (a final state, or stopped by the runtime when it ended), `stopped` (unloaded or closed: resumable), or `crashed`. */
  status: 'running' | 'ended' | 'stopped' | 'crashed';
  /** Spawns of this run id (a stopped run can be spawned again from its checkpoint). */
  spawns: number;
  detail?: string;
}

export interface SupervisorContext {
  runs: Record<string, SupervisedRun>;
}

export type SupervisorEvent =
  | { type: 'RUN.SPAWN'; runId: string; input: SupervisedRunInput }
  | { type: 'RUN.STOP'; runId: string; reason: string }
  | { type: 'RUN.ENDED'; runId: string; status: string }
  | { type: `xstate.done.actor.${string}`; output?: unknown }
  | { type: `xstate.error.actor.${string}`; error: unknown };

const idOf = (eventType: string) => eventType.split('.').slice(3).join('.');

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
      const spawns = (context.runs[event.runId]?.spawns ?? 0) + 1;
      enqueue.assign({ runs: { ...context.runs, [event.runId]: { status: 'running', spawns } } });
    }),
    stopRun: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'RUN.STOP') return;
      enqueue.stopChild(event.runId);
      const run = context.runs[event.runId];
      if (run?.status === 'running') {
        enqueue.assign({
          runs: { ...context.runs, [event.runId]: { ...run, status: 'stopped', detail: event.reason } },
        });
      }
    }),
    recordEnd: assign({
      runs: ({ context, event }) => {
        const runId = event.type === 'RUN.ENDED' ? event.runId : idOf(event.type);
        const run = context.runs[runId];
        // A run that was stopped or crashed keeps that status; an ended one gets how it ended.
        if (run === undefined || run.status === 'stopped' || run.status === 'crashed') return context.runs;
        const detail = event.type === 'RUN.ENDED' ? { detail: event.status } : {};
        return { ...context.runs, [runId]: { ...run, status: 'ended', ...detail } };
      },
    }),
    recordCrash: assign({
      runs: ({ context, event }) => {
        const runId = idOf(event.type);
        const run = context.runs[runId] ?? { status: 'running', spawns: 1 };
        const error = 'error' in event ? event.error : undefined;
        const detail = error instanceof Error ? error.message : String(error);
        return { ...context.runs, [runId]: { ...run, status: 'crashed', detail } };
      },
    }),
  },
}).createMachine({
  id: 'supervisor',
  context: { runs: {} },
  on: {
    'RUN.SPAWN': { actions: 'spawnRun' },
    'RUN.STOP': { actions: 'stopRun' },
    'RUN.ENDED': { actions: 'recordEnd' },
    'xstate.done.actor.*': { actions: 'recordEnd' },
    'xstate.error.actor.*': { actions: 'recordCrash' },
  },
});

/**
 * The run statechart as the supervisor spawns it: its initial snapshot is the one in its input
 * when there is one (a run restored from a checkpoint), and a new run's otherwise.
 */
export function supervisedRunLogic<TLogic extends AnyActorLogic>(machine: TLogic): TLogic {
  const logic = Object.create(machine) as TLogic;
  logic.getInitialSnapshot = (scope, input: SupervisedRunInput) =>
    input.snapshot === undefined
      ? machine.getInitialSnapshot(scope, input.run)
      : (machine.restoreSnapshot?.(input.snapshot as never, scope) ??
        machine.getInitialSnapshot(scope, input.run));
  return logic;
}
