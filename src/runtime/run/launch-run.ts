import { waitFor } from 'xstate';
import { AgentchartError } from '../../agentchart-error.js';
import type { AgentRunSnapshot } from '../../machines/agent-run-machine.js';
import type {
  AgentRunContext,
  AgentRunInput,
  RunLimits,
  RunSettings,
} from '../../machines/agent-run-types.js';
import type { ToolResultBlock } from '../../model/message.js';
import type { ModelClient } from '../../model/model-client.js';
import { type ModelPrice, priceOf } from '../../model/prices.js';
import type { CheckpointStore, RunRecord } from '../../persistence/checkpoint-store.js';
import { toRunError } from '../../run-error.js';
import type { RunResult } from '../../run-result.js';
import type { EventLogRegistry } from '../../streaming/event-log.js';
import type { RunEventBody, RunPhase } from '../../streaming/run-event.js';
import { createRunEventStream } from '../../streaming/run-event-stream.js';
import { toAsyncIterable } from '../../streaming/to-async-iterable.js';
import { restrictTools, type ToolRegistry } from '../../tools/tool-registry.js';
import type { CheckpointDurability, CheckpointPolicy } from '../checkpoints/checkpoint-policy.js';
import { type Checkpointer, createCheckpointer, persistWithoutContext } from '../checkpoints/checkpointer.js';
import { assertRestorable } from '../checkpoints/restore-probe.js';
import { parseQuery, type RuntimeTimeouts } from '../runtime-config.js';
import { createDeadlineTimer } from './deadline-timer.js';
import { requestsFor } from './human-requests.js';
import { sendAnswer } from './run-controls.js';
import type { RunHandle } from './run-handle.js';
import { failure, resultOf } from './run-outcome.js';
import type { Supervisor } from './supervisor.js';

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
  policy: CheckpointPolicy;
  durability: CheckpointDurability;
  unloadParked: boolean;
  active: Map<string, RunHandle>;
  /** The supervisor the runs are spawned under. */
  supervisor: Supervisor;
  /** Told of every run that ends (done, failed or cancelled), before its result resolves: sessions commit here. */
  onEnded(result: RunResult, context: AgentRunContext): Promise<void>;
  /** The event logs of the live runs. */
  eventLogs: EventLogRegistry;
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
  /** The seq of the run's first event here: where its event log left off (0 for a new run). */
  firstSeq?: number;
}

const parked = new Set<RunPhase>(['paused', 'waiting_input']);

/** How the runtime stops a live run without ending it (when it closes): by handle. */
const detachers = new WeakMap<RunHandle, (reason: string) => Promise<void>>();

/** Stops a live run, leaving it resumable in the store; its result says it was stopped and why. */
export function detachRun(handle: RunHandle, reason: string): Promise<void> {
  return detachers.get(handle)?.(reason) ?? Promise.resolve();
}

/**
 * Spawns a run under the runtime's supervisor, with its event stream, checkpoint writer and
 * deadline timer. Returns at once: the actor exists and the events wait for the next turn of the
 * event loop, so whoever subscribes right after misses nothing. The run calls its model and tools
 * only once `prepare` has stored it. Throws `CHECKPOINT_INVALID` (before any store work) if XState
 * cannot restore the snapshot.
 */
export function launchRun(
  environment: RunEnvironment,
  spec: RunSpec,
): { handle: RunHandle; started: Promise<void> } {
  const { runId, signal } = spec;
  const stream = createRunEventStream(runId, spec.firstSeq ?? 0);
  // Events wait for the next turn of the event loop, so that a subscriber who got the handle sees them all.
  let buffered: RunEventBody[] | undefined = [];
  setImmediate(() => {
    const pending = buffered ?? [];
    buffered = undefined;
    for (const event of pending) stream.emit(event);
  });
  const emit = (event: RunEventBody) => {
    if (!environment.telemetry && event.type === 'telemetry') return;
    if (buffered !== undefined) buffered.push(event);
    else stream.emit(event);
  };
  let prepared: PreparedRun | undefined;
  let checkpointer: Checkpointer | undefined;
  let markReady: () => void = () => {};
  let failReady: (error: unknown) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  ready.catch(() => {});
  // Aborted when the run ends or is cancelled: tool calls in flight stop then, not at a pause.
  const runAbort = new AbortController();
  const beforeEffect = async () => {
    await ready;
    if (environment.durability === 'sync') {
      // Let the step that leads here be queued for writing first (observers run after the transition).
      await null;
      await checkpointer?.flushed();
    }
  };
  const store = async () => {
    await ready;
    return (prepared as PreparedRun).store;
  };
  // Every event goes to the run's log (written once the run is in the store).
  const log = environment.eventLogs.create(runId, store);
  stream.events$.subscribe((event) => log.record(event));
  const { model, systemPrompt, registry } = runSettings(environment, settingsOf(spec.start));
  const unregister = environment.supervisor.register(runId, {
    notify: emit,
    modelTurn: {
      model,
      systemPrompt,
      tools: registry.specs,
      emit,
      telemetry: environment.telemetry,
      price: priceOf(model.modelId, environment.prices),
      requestsFor: (calls) => requestsFor(calls, registry),
      idleTimeoutMs: environment.timeouts.idleStreamMs,
      ready,
    },
    toolCalls: {
      registry,
      runId,
      maxConcurrency: environment.limits.maxConcurrentToolCalls,
      emit,
      telemetry: environment.telemetry,
      beforeEffect,
      journal: {
        get: async (toolCallId) => (await store()).getToolResult(runId, toolCallId),
        put: async (result) => (await store()).putToolResult(runId, result),
      },
      runSignal: runAbort.signal,
      defaultTimeoutMs: environment.timeouts.toolMs,
      inFlight: new Map<string, Promise<ToolResultBlock | undefined>>(),
      completed: new Map<string, ToolResultBlock>(),
      journalMayHold: 'snapshot' in spec.start || spec.start.input.context !== undefined,
    },
  });

  const restoring = 'snapshot' in spec.start;
  if ('snapshot' in spec.start) {
    try {
      assertRestorable(spec.start.snapshot, spec.start.input);
    } catch (error) {
      unregister();
      throw error;
    }
  }
  const resumedFrom = spec.start.resumedFrom === undefined ? {} : { resumedFrom: spec.start.resumedFrom };
  emit({ type: 'run-start', input: spec.inputText, ...resumedFrom });
  const actor = environment.supervisor.spawn(runId, {
    run: spec.start.input,
    ...('snapshot' in spec.start ? { snapshot: spec.start.snapshot } : {}),
  });
  // A run restored while waiting asks again: its requests were not answered.
  if (restoring && actor.getSnapshot().value === 'waiting_input') {
    for (const request of actor.getSnapshot().context.pendingRequests)
      emit({ type: 'input-request', request });
  }
  let lastContext = actor.getSnapshot().context;
  const deadlines = createDeadlineTimer((limit, phase) => actor.send({ type: 'TIMEOUT', limit, phase }));
  deadlines.arm(actor.getSnapshot());

  let resolveResult: (result: RunResult) => void = () => {};
  const result = new Promise<RunResult>((resolve) => {
    resolveResult = resolve;
  });
  // The result comes after the run's events have gone out (they wait for the next turn of the loop).
  const settle = (ended: RunResult) => {
    if (buffered === undefined) resolveResult(ended);
    else setImmediate(() => resolveResult(ended));
  };
  const cancelFromSignal = () => actor.send({ type: 'CANCEL', reason: abortReason(signal) });
  // Why the run was stopped from inside the process (unloaded while parked, or the runtime closing).
  let detached: string | undefined;
  void result.then((ended) => {
    deadlines.clear();
    runAbort.abort(new Error(`run ${ended.status}`));
    signal?.removeEventListener('abort', cancelFromSignal);
    if (environment.active.get(runId) === handle) environment.active.delete(runId);
    if (detached === undefined) environment.supervisor.ended(runId, ended.status);
    unregister();
    // A run that left this process without ending has no `run-end` in its log: it goes on elsewhere.
    if (detached !== undefined) void environment.eventLogs.release(log, { detach: true });
    stream.end({ type: 'run-end', result: ended });
    if (detached === undefined) void environment.eventLogs.release(log);
  });

  /**
   * Stops the actor at once, as a crash would, then waits for the checkpoints already on their way:
   * the store still holds the run, resumable from its last step.
   */
  const detach = async (reason: string, onlyParked: boolean) => {
    const snapshot = actor.getSnapshot();
    if (snapshot.status !== 'active' || detached !== undefined) return;
    if (onlyParked && !parked.has(snapshot.value as RunPhase)) return;
    detached = reason;
    environment.supervisor.stop(runId, reason);
    await ready.catch(() => {});
    await checkpointer?.flushed().catch(() => {});
  };
  const unload = () => detach('unloaded', true);

  const onEnd = async () => {
    const snapshot = actor.getSnapshot();
    if (snapshot.status !== 'done') {
      // Stopped before it ended: as far as the store knows it is still running or waiting
      // (resumable, as after a crash). A parked run's result says where it waits.
      const phase = snapshot.value as RunPhase;
      if (detached !== undefined && parked.has(phase))
        return settle(resultOf(runId, snapshot, lastContext, phase as 'paused'));
      const reason = detached ?? 'actor stopped';
      const message = `Run '${runId}' was stopped (${reason}); recover() or resume() continues it`;
      const stopped = { errorClass: 'cancelled', recoverable: true, message, details: { reason } } as const;
      return settle(failure(runId, snapshot, lastContext, stopped, 'cancelled'));
    }
    try {
      await ready;
      await checkpointer?.finish(snapshot.value as RunPhase);
      const ended = resultOf(runId, snapshot, lastContext);
      await environment.onEnded(ended, snapshot.context).catch(() => {});
      settle(ended);
    } catch (error) {
      // A run whose end could not be stored is reported as failed: the store still holds it as running.
      settle(
        failure(runId, snapshot, lastContext, { ...toRunError(error, 'store_error'), recoverable: true }),
      );
    }
  };
  let sawChange = false;
  actor.subscribe({
    next: (snapshot) => {
      lastContext = snapshot.context ?? lastContext;
      deadlines.arm(snapshot);
      if (checkpointer !== undefined) checkpointer.observe(snapshot, () => persistWithoutContext(actor));
      else sawChange = true;
      if (environment.unloadParked && parked.has(snapshot.value as RunPhase)) void unload();
    },
    complete: () => void onEnd(),
    error: (error) => settle(failure(runId, actor.getSnapshot(), lastContext, toRunError(error, 'internal'))),
  });
  if (signal?.aborted) cancelFromSignal();
  else signal?.addEventListener('abort', cancelFromSignal, { once: true });

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
      environment.eventLogs.register(log);
      const { headCheckpointId, stepNum } = ready.record;
      if (ready.created && headCheckpointId !== null) {
        emit({
          type: 'checkpoint',
          checkpointId: headCheckpointId,
          stepNum,
          phase: initial.snapshot.value as RunPhase,
        });
      }
      // The state it is in now is stored already (its first checkpoint, or the one it resumes), unless
      // it moved on meanwhile or continues a run after its end (a new state).
      const continued = !ready.created && !restoring && spec.start.input.context !== undefined;
      if ((sawChange || continued) && actor.getSnapshot().status === 'active') {
        writer.observe(actor.getSnapshot(), () => persistWithoutContext(actor));
      }
      markReady();
    },
    (error: unknown) => {
      failReady(error);
      const code = AgentchartError.isInstance(error) ? error.code : undefined;
      const runError = toRunError(error, code === 'DUPLICATE_RUN_ID' ? 'invalid_request' : 'store_error');
      detached = 'store refused the run';
      settle(failure(runId, actor.getSnapshot(), lastContext, runError));
      environment.supervisor.stop(runId, detached);
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
      if (actor.getSnapshot().status === 'active') actor.send({ type: 'CANCEL', reason });
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
