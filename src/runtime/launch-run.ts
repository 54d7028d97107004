import { createActor, type InspectionEvent, type Observer, waitFor } from 'xstate';
import { createModelTurnLogic, type ModelTurnDependencies } from '../actors/model-turn.js';
import { createToolCallsLogic, type ToolCallsDependencies } from '../actors/tool-calls.js';
import { AgentchartError } from '../agentchart-error.js';
import { agentRunMachine } from '../machines/agent-run-machine.js';
import type { AgentRunContext, AgentRunInput, RunLimits, RunSettings } from '../machines/agent-run-types.js';
import type { ToolResultBlock } from '../model/message.js';
import type { ModelClient } from '../model/model-client.js';
import { type ModelPrice, priceOf } from '../model/prices.js';
import type { CheckpointStore, RunRecord } from '../persistence/checkpoint-store.js';
import { toRunError } from '../run-error.js';
import type { RunResult } from '../run-result.js';
import type { RunEventBody, RunPhase } from '../streaming/run-event.js';
import { createRunEventStream } from '../streaming/run-event-stream.js';
import { toAsyncIterable } from '../streaming/to-async-iterable.js';
import { restrictTools, type ToolRegistry } from '../tools/tool-registry.js';
import type { CheckpointDurability, CheckpointPolicy } from './checkpoint-policy.js';
import {
  type AgentRunSnapshot,
  type Checkpointer,
  createCheckpointer,
  persistWithoutContext,
} from './checkpointer.js';
import { createDeadlineTimer } from './deadline-timer.js';
import { requestsFor } from './human-requests.js';
import { assertRestorable } from './restore-probe.js';
import { sendAnswer } from './run-controls.js';
import type { RunHandle } from './run-handle.js';
import { failure, resultOf } from './run-outcome.js';
import { parseQuery, type RuntimeTimeouts } from './runtime-config.js';

/** What every run of a runtime shares. */
export interface RunEnvironment {
  model: ModelClient;
  registry: ToolRegistry;
  systemPrompt: string | undefined;
  limits: RunLimits;
  timeouts: RuntimeTimeouts;
  /** Prices by model id or prefix. */
  prices: Readonly<Record<string, ModelPrice>>;
  /** The runtime's models by id (its `model` and its `models`), for runs whose settings name another. */
  models: Map<string, ModelClient>;
  telemetry: boolean;
  inspect: Observer<InspectionEvent> | ((event: InspectionEvent) => void) | undefined;
  policy: CheckpointPolicy;
  durability: CheckpointDurability;
  unloadParked: boolean;
  active: Map<string, RunHandle>;
  /** Loads a run that was dropped from memory (from its latest checkpoint), for an answer or a resume. */
  reload(runId: string): Promise<RunHandle>;
}

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
   * from the actor's state before it starts). A failure ends the run as data.
   */
  prepare: (initial: {
    snapshot: AgentRunSnapshot;
    persisted: Record<string, unknown>;
  }) => Promise<PreparedRun>;
  signal: AbortSignal | undefined;
}

const parked = new Set<RunPhase>(['paused', 'waiting_input']);

/** What the actors of one run need: its event sink, journal, signals. Found by the run's actor system. */
interface RunDependencies {
  modelTurn: ModelTurnDependencies;
  toolCalls: ToolCallsDependencies;
}
const runDependencies = new WeakMap<object, RunDependencies>();
const dependenciesOf = (system: object): RunDependencies => {
  const found = runDependencies.get(system);
  if (found === undefined)
    throw new Error('agentchart: an actor ran outside of a run launched by its runtime');
  return found;
};

/**
 * The statechart with its actors, made once for all runs (making a machine resolves its whole
 * definition: too much to do for every run). The actors find their run's dependencies by the actor
 * system they run in.
 */
const runMachine = agentRunMachine.provide({
  actors: {
    modelTurn: createModelTurnLogic((system) => dependenciesOf(system).modelTurn),
    toolCalls: createToolCallsLogic((system) => dependenciesOf(system).toolCalls),
  },
});

/** How the runtime stops a live run without ending it (when it closes): by handle. */
const detachers = new WeakMap<RunHandle, (reason: string) => Promise<void>>();

/** Stops a live run, leaving it resumable in the store; its result says it was stopped and why. */
export function detachRun(handle: RunHandle, reason: string): Promise<void> {
  return detachers.get(handle)?.(reason) ?? Promise.resolve();
}

/**
 * Creates a run's actor, its event stream, its checkpoint writer and its deadline timer, and starts
 * it once `prepare` is done. Returns at once: the handle exists before the run starts, so nothing it
 * emits is missed. Throws `CHECKPOINT_INVALID` (before any store work) if XState cannot restore the
 * snapshot.
 */
export function launchRun(
  environment: RunEnvironment,
  spec: RunSpec,
): { handle: RunHandle; started: Promise<void> } {
  const { runId, signal } = spec;
  const stream = createRunEventStream(runId);
  const emit = (event: RunEventBody) => {
    if (environment.telemetry || event.type !== 'telemetry') stream.emit(event);
  };
  let prepared: PreparedRun | undefined;
  let checkpointer: Checkpointer | undefined;
  // Aborted when the run ends or is cancelled: tool calls in flight stop then, not at a pause.
  const runAbort = new AbortController();
  const beforeEffect =
    environment.durability === 'sync'
      ? async () => {
          // Let the step that leads here be queued for writing first (observers run after the transition).
          await null;
          await checkpointer?.flushed();
        }
      : async () => {};
  const store = () => {
    if (prepared === undefined) throw new Error('the run started before its store was ready');
    return prepared.store;
  };
  const { model, systemPrompt, registry } = runSettings(environment, settingsOf(spec.start));
  const dependencies: RunDependencies = {
    modelTurn: {
      model,
      systemPrompt,
      tools: registry.specs,
      emit,
      telemetry: environment.telemetry,
      price: priceOf(model.modelId, environment.prices),
      requestsFor: (calls) => requestsFor(calls, registry),
      idleTimeoutMs: environment.timeouts.idleStreamMs,
    },
    toolCalls: {
      registry,
      runId,
      maxConcurrency: environment.limits.maxConcurrentToolCalls,
      emit,
      telemetry: environment.telemetry,
      beforeEffect,
      journal: {
        get: (toolCallId) => store().getToolResult(runId, toolCallId),
        put: (result) => store().putToolResult(runId, result),
      },
      runSignal: runAbort.signal,
      defaultTimeoutMs: environment.timeouts.toolMs,
      inFlight: new Map<string, Promise<ToolResultBlock | undefined>>(),
    },
  };
  const inspect = environment.inspect === undefined ? {} : { inspect: environment.inspect };
  if ('snapshot' in spec.start) assertRestorable(spec.start.snapshot, spec.start.input);
  const actor =
    'snapshot' in spec.start
      ? createActor(runMachine, {
          input: spec.start.input,
          snapshot: spec.start.snapshot as never,
          ...inspect,
        })
      : createActor(runMachine, { input: spec.start.input, ...inspect });
  runDependencies.set(actor.system, dependencies);
  let lastContext = actor.getSnapshot().context;
  actor.on('*', (event) => stream.emit(event));
  const deadlines = createDeadlineTimer((limit, phase) => actor.send({ type: 'TIMEOUT', limit, phase }));

  let settle: (result: RunResult) => void = () => {};
  const result = new Promise<RunResult>((resolve) => {
    settle = resolve;
  });
  const cancelFromSignal = () => actor.send({ type: 'CANCEL', reason: abortReason(signal) });
  // Why the run was stopped from inside the process (unloaded while parked, or the runtime closing).
  let detached: string | undefined;
  void result.then((ended) => {
    deadlines.clear();
    runAbort.abort(new Error(`run ${ended.status}`));
    signal?.removeEventListener('abort', cancelFromSignal);
    if (environment.active.get(runId) === handle) environment.active.delete(runId);
    stream.end({ type: 'run-end', result: ended });
  });

  /** Stops the actor once its checkpoints are on disk; the store still holds the run, resumable. */
  const detach = async (reason: string, onlyParked: boolean) => {
    await running;
    await checkpointer?.flushed().catch(() => {});
    const snapshot = actor.getSnapshot();
    if (snapshot.status !== 'active' || detached !== undefined) return;
    if (onlyParked && !parked.has(snapshot.value as RunPhase)) return;
    detached = reason;
    actor.stop();
  };
  const unload = () => detach('unloaded', true);

  // Resolves once the actor has started (or will never start).
  let markRunning: () => void = () => {};
  const running = new Promise<void>((resolve) => {
    markRunning = resolve;
  });
  void result.then(() => markRunning());
  const initial = { snapshot: actor.getSnapshot(), persisted: persistWithoutContext(actor) };
  const started = spec.prepare(initial).then(
    (ready) => {
      prepared = ready;
      const writer = createCheckpointer({
        store: ready.store,
        record: ready.record,
        policy: environment.policy,
        emit,
        onFailure: (error) => {
          if (actor.getSnapshot().status === 'active')
            actor.send({ type: 'FAIL', error: toRunError(error, 'store_error') });
        },
      });
      checkpointer = writer;
      // The state the run starts in is stored already (its first checkpoint, or the one it resumes),
      // unless it continues a run after its end: that state is new.
      let skip = ready.created || 'snapshot' in spec.start || spec.start.input.context === undefined;
      actor.subscribe({
        next: (snapshot) => {
          lastContext = snapshot.context ?? lastContext;
          deadlines.arm(snapshot);
          if (skip) skip = false;
          else writer.observe(snapshot, () => persistWithoutContext(actor));
          if (environment.unloadParked && parked.has(snapshot.value as RunPhase)) void unload();
        },
        complete: () => {
          const snapshot = actor.getSnapshot();
          if (snapshot.status !== 'done') {
            // Stopped before it ended: as far as the store knows it is still running or waiting
            // (resumable, as after a crash). A parked run's result says where it waits.
            const phase = snapshot.value as RunPhase;
            if (detached !== undefined && parked.has(phase))
              return settle(resultOf(runId, snapshot, lastContext, phase as 'paused'));
            const reason = detached ?? 'actor stopped';
            const message = `Run '${runId}' was stopped (${reason}); recover() or resume() continues it`;
            const stopped = {
              errorClass: 'cancelled',
              recoverable: true,
              message,
              details: { reason },
            } as const;
            return settle(failure(runId, snapshot, lastContext, stopped, 'cancelled'));
          }
          // A run whose end could not be stored is reported as failed: the store still holds it as running.
          void writer.finish(snapshot.value as RunPhase).then(
            () => settle(resultOf(runId, snapshot, lastContext)),
            (error: unknown) =>
              settle(
                failure(runId, snapshot, lastContext, {
                  ...toRunError(error, 'store_error'),
                  recoverable: true,
                }),
              ),
          );
        },
        error: (error) =>
          settle(failure(runId, actor.getSnapshot(), lastContext, toRunError(error, 'internal'))),
      });
      // Start on the next turn of the event loop, so that whoever awaited the launch subscribes first.
      setImmediate(() => {
        const resumedFrom =
          spec.start.resumedFrom === undefined ? {} : { resumedFrom: spec.start.resumedFrom };
        stream.emit({ type: 'run-start', input: spec.inputText, ...resumedFrom });
        const { headCheckpointId, stepNum } = ready.record;
        if (ready.created && headCheckpointId !== null) {
          emit({
            type: 'checkpoint',
            checkpointId: headCheckpointId,
            stepNum,
            phase: initial.snapshot.value as RunPhase,
          });
        }
        try {
          actor.start();
        } catch (error) {
          settle(failure(runId, actor.getSnapshot(), lastContext, toRunError(error, 'internal')));
          return;
        } finally {
          markRunning();
        }
        // A run restored while waiting asks again: its requests were not answered.
        const current = actor.getSnapshot();
        if ('snapshot' in spec.start && current.value === 'waiting_input') {
          for (const request of current.context.pendingRequests) emit({ type: 'input-request', request });
        }
        if (signal?.aborted) cancelFromSignal();
        else signal?.addEventListener('abort', cancelFromSignal, { once: true });
      });
    },
    (error: unknown) => {
      const code = AgentchartError.isInstance(error) ? error.code : undefined;
      settle(
        failure(
          runId,
          actor.getSnapshot(),
          lastContext,
          toRunError(error, code === 'DUPLICATE_RUN_ID' ? 'invalid_request' : 'store_error'),
        ),
      );
    },
  );

  /** The live actor of this run, or (when it was unloaded) of the run loaded again. */
  const live = async (): Promise<RunHandle | undefined> => {
    await started;
    return detached !== undefined ? environment.reload(runId) : undefined;
  };
  const ended = () =>
    new AgentchartError({ code: 'RUN_ENDED', message: `Run '${runId}' has ended`, details: { runId } });

  const handle: RunHandle = {
    id: runId,
    events$: stream.events$,
    result,
    actor,
    [Symbol.asyncIterator]: () => toAsyncIterable(stream.events$)[Symbol.asyncIterator](),
    async checkpoint(label = {}) {
      parseQuery('run.checkpoint', label);
      await started;
      const snapshot = actor.getSnapshot();
      if (checkpointer === undefined || snapshot.status !== 'active') {
        throw new AgentchartError({
          code: 'RUN_ENDED',
          message: `Run '${runId}' has ended; it takes no more checkpoints`,
        });
      }
      return checkpointer.checkpoint(snapshot, persistWithoutContext(actor), label);
    },
    async pause() {
      if ((await live()) !== undefined) return;
      if (actor.getSnapshot().status !== 'active') throw ended();
      actor.send({ type: 'PAUSE' });
      await waitFor(actor, (snapshot) => snapshot.value === 'paused' || snapshot.status !== 'active');
      await checkpointer?.flushed().catch(() => {});
    },
    async resume() {
      const reloaded = await live();
      if (reloaded !== undefined) return reloaded.resume();
      if (actor.getSnapshot().status !== 'active') throw ended();
      actor.send({ type: 'RESUME' });
    },
    async cancel(reason = 'cancelled') {
      const reloaded = await live();
      if (reloaded !== undefined) return reloaded.cancel(reason);
      actor.send({ type: 'CANCEL', reason });
      return result;
    },
    async respond(requestId, value) {
      const reloaded = await live();
      if (reloaded !== undefined) return reloaded.respond(requestId, value);
      sendAnswer(actor, registry, requestId, { kind: 'input', value });
    },
    async approve(requestId) {
      const reloaded = await live();
      if (reloaded !== undefined) return reloaded.approve(requestId);
      sendAnswer(actor, registry, requestId, { kind: 'approval', approved: true });
    },
    async reject(requestId, reason = 'rejected') {
      const reloaded = await live();
      if (reloaded !== undefined) return reloaded.reject(requestId, reason);
      sendAnswer(actor, registry, requestId, { kind: 'approval', approved: false, reason });
    },
    unload,
  };
  detachers.set(handle, (reason) => detach(reason, false));
  environment.active.set(runId, handle);
  return { handle, started };
}

/** The settings of the run being launched: from the context it continues, or the snapshot it restores. */
function settingsOf(start: RunSpec['start']): RunSettings {
  if ('snapshot' in start) return (start.snapshot.context as AgentRunContext | undefined)?.settings ?? {};
  return start.input.context?.settings ?? {};
}

/** The model, system prompt and tools of a run: its settings over its runtime's. */
function runSettings(environment: RunEnvironment, settings: RunSettings) {
  let model = environment.model;
  if (settings.modelId !== undefined && settings.modelId !== model.modelId) {
    const named = environment.models.get(settings.modelId);
    if (named === undefined) {
      throw new AgentchartError({
        code: 'INVALID_ARGUMENT',
        message: `The run uses model '${settings.modelId}', which this runtime does not have: add it to createRuntime({ models })`,
        details: { modelId: settings.modelId },
      });
    }
    model = named;
  }
  const registry =
    settings.toolNames === undefined
      ? environment.registry
      : restrictTools(environment.registry, settings.toolNames);
  return { model, systemPrompt: settings.systemPrompt ?? environment.systemPrompt, registry };
}

function abortReason(signal: AbortSignal | undefined): string {
  const reason: unknown = signal?.reason;
  if (typeof reason === 'string') return reason;
  if (reason instanceof Error) return reason.message;
  return 'aborted';
}
