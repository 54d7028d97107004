import { assign, createActor, type InspectionEvent, type Observer } from 'xstate';
import { createModelTurnLogic, type ModelTurnDependencies } from '../../actors/model-turn.js';
import { createToolCallsLogic, type ToolCallsDependencies } from '../../actors/tool-calls.js';
import type { Clock } from '../../clock.js';
import type { AgentRunActor } from '../../machines/agent-run-machine.js';
import { agentRunMachine, withPhaseDeadline } from '../../machines/agent-run-machine.js';
import type { AgentRunEmitted } from '../../machines/agent-run-types.js';
import {
  type SupervisedRunInput,
  supervisedRunLogic,
  supervisorMachine,
} from '../../machines/supervisor-machine.js';
import { redactSecrets } from '../inspector.js';

/** What the actors of one run need (its event sink, its journal, its signals), found by system and run id. */
export interface RunDependencies {
  modelTurn: ModelTurnDependencies;
  toolCalls: ToolCallsDependencies;
  notify(event: AgentRunEmitted): void;
  /** The run's clock (its phase deadlines are set from it). */
  clock: Clock;
  /** The run's actor, set when the supervisor creates it. */
  actor?: AgentRunActor;
}

const registries = new WeakMap<object, Map<string, RunDependencies>>();

function dependenciesOf(system: object, runId: string): RunDependencies {
  const found = registries.get(system)?.get(runId);
  if (found === undefined)
    throw new Error(`agentchart: run '${runId}' has no dependencies registered with its supervisor`);
  return found;
}

/**
 * The run statechart with its actors and its `notify` action, made once for all runs (making a
 * machine resolves its whole definition). They find their run's dependencies by the actor system
 * they run in (their supervisor's) and the run id.
 */
const runLogic = supervisedRunLogic(
  agentRunMachine.provide({
    actors: {
      modelTurn: createModelTurnLogic((system, runId) => dependenciesOf(system, runId).modelTurn),
      toolCalls: createToolCallsLogic((system, runId) => dependenciesOf(system, runId).toolCalls),
    },
    actions: {
      notify: ({ context, system }, event) => dependenciesOf(system, context.runId).notify(event),
      setPhaseDeadline: assign({
        deadlines: ({ context, system }, params: { phase: 'plan' | 'act' }) =>
          withPhaseDeadline(context, params.phase, dependenciesOf(system, context.runId).clock.now()),
      }),
    },
  }),
  (self, input) => {
    const dependencies = registries.get(self.system)?.get(input.run.runId);
    if (dependencies !== undefined) dependencies.actor = self as unknown as AgentRunActor;
  },
);

/** The supervisor of a runtime's runs, with the operations the runtime needs. */
export interface Supervisor {
  /** The supervisor actor (its context reports each run: running, ended, stopped, crashed). */
  readonly actor: ReturnType<typeof createActor<typeof supervisorMachine>>;
  /** Registers what a run's actors need, before it is spawned; returns the unregistration. */
  register(runId: string, dependencies: RunDependencies): () => void;
  /** Spawns a run, new or from a snapshot, as a child; it starts at once. */
  spawn(runId: string, input: SupervisedRunInput): AgentRunActor;
  /** Stops a run without ending it (it stays resumable in the store). */
  stop(runId: string, reason: string): void;
  /** Reports how a run ended. */
  ended(runId: string, status: string): void;
}

type Inspect = Observer<InspectionEvent> | ((event: InspectionEvent) => void);

/**
 * What an inspector is given: every inspection event with its secrets redacted (its event, its
 * snapshot, its action's parameters, and the snapshot its actor gives, as plain JSON copies; see
 * `redactSecrets`), whichever way the inspector was given, and each run named by its run id (a
 * run's actor id is a reused `run-N`, see `SupervisorContext.freeChildIds`; inspectors name an
 * actor by its id).
 */
export function inspectionFor(inspect: Inspect): (event: InspectionEvent) => void {
  const next = typeof inspect === 'function' ? inspect : (event: InspectionEvent) => inspect.next?.(event);
  const views = new WeakMap<object, object>();
  const view = <T extends object>(actorRef: T): T => {
    let proxy = views.get(actorRef) as T | undefined;
    if (proxy !== undefined) return proxy;
    // A run's actor is created with the supervisor's input (its system id is set only after).
    const runId = (actorRef as { options?: { input?: Partial<SupervisedRunInput> } }).options?.input?.run
      ?.runId;
    proxy = new Proxy(actorRef, {
      get(target, property) {
        if (property === 'id' && runId !== undefined) return runId;
        const value: unknown = Reflect.get(target, property, target);
        if (property === 'getSnapshot' && typeof value === 'function')
          return () => redactSecrets(value.call(target));
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    views.set(actorRef, proxy);
    return proxy;
  };
  return (event) => {
    const redacted: Record<string, unknown> = { ...event, actorRef: view(event.actorRef) };
    if ('event' in event) redacted.event = redactSecrets(event.event);
    if ('snapshot' in event) redacted.snapshot = redactSecrets(event.snapshot);
    if ('action' in event) redacted.action = redactSecrets(event.action);
    if ('sourceRef' in event && event.sourceRef !== undefined) redacted.sourceRef = view(event.sourceRef);
    next(redacted as unknown as InspectionEvent);
  };
}

/** Creates and starts the supervisor of a runtime; `inspect` sees it and every run under it. */
export function createSupervisor(clock: Clock, inspect?: Inspect): Supervisor {
  const machine = supervisorMachine.provide({ actors: { run: runLogic as never } });
  const actor = createActor(machine, {
    id: 'agentchart',
    clock,
    ...(inspect === undefined ? {} : { inspect: inspectionFor(inspect) }),
  }).start();
  const registry = new Map<string, RunDependencies>();
  registries.set(actor.system, registry);
  return {
    actor,
    register(runId, dependencies) {
      registry.set(runId, dependencies);
      return () => {
        if (registry.get(runId) === dependencies) registry.delete(runId);
      };
    },
    spawn(runId, input) {
      actor.send({ type: 'RUN.SPAWN', runId, input });
      // Taken as it was created: a run may end while it starts (and leave the supervisor's children).
      const child = registry.get(runId)?.actor;
      if (child === undefined) throw new Error(`agentchart: the supervisor did not spawn run '${runId}'`);
      return child;
    },
    stop: (runId, reason) => actor.send({ type: 'RUN.STOP', runId, reason }),
    ended: (runId, status) => actor.send({ type: 'RUN.ENDED', runId, status }),
  };
}
