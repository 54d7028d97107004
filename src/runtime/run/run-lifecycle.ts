import type { Observable } from 'rxjs';
import { createToolLedger, type ToolLedger } from '../../actors/tool-ledger.js';
import { AgentchartError } from '../../agentchart-error.js';
import type { AgentRunActor, AgentRunSnapshot } from '../../machines/agent-run-machine.js';
import type { AgentRunContext } from '../../machines/agent-run-types.js';
import { priceOf } from '../../model/prices.js';
import type { CheckpointStore } from '../../persistence/checkpoint-store.js';
import { fencedStore } from '../../persistence/fenced-store.js';
import { storeFailure, toRunError } from '../../run-error.js';
import type { RunResult } from '../../run-result.js';
import type { RunEvent, RunPhase } from '../../streaming/run-event.js';
import type { ToolRegistry } from '../../tools/tool-registry.js';
import { type Checkpointer, createCheckpointer, persistWithoutContext } from '../checkpoints/checkpointer.js';
import { assertRestorable } from '../checkpoints/restore-probe.js';
import { createDeadlineTimer } from './deadline-timer.js';
import { requestsFor } from './human-requests.js';
import type { RunEnvironment } from './run-environment.js';
import { createRunEvents, eventSeqRange } from './run-events.js';
import { failure, resultOf } from './run-outcome.js';
import { runSettings } from './run-settings.js';
import type { LeaveReason, RunSpec } from './run-spec.js';

/**
 * Where a run is, outside its statechart. Every control is a function of it.
 * - `starting`: spawned; its record is being stored; its model turn and tool calls wait.
 * - `live`: running here, its statechart in any phase (parked ones included). A tool call that has
 *   returned is in the journal, and in the ledger until the statechart records it in its context.
 * - `leaving`: being unloaded or closed: its calls in flight settle into the journal, its
 *   checkpoints are written.
 * - `parked`: it left while waiting (unloaded); an answer or a resume loads it again.
 * - `detached`: it left without ending for another reason (the runtime closed, or its actor was
 *   stopped from outside); it is resumable from the store.
 * - `ended`: done, failed or cancelled, with its result.
 * Once it has left (`parked`, `detached`, `ended`), no call of it is running here: every returned
 * result is in the journal.
 */
export type RunLifecycleState =
  | { kind: 'starting' }
  | { kind: 'live'; store: CheckpointStore; checkpointer: Checkpointer }
  | { kind: 'leaving'; reason: LeaveReason; checkpointer: Checkpointer; left: Promise<void> }
  | { kind: 'parked'; status: 'paused' | 'waiting_input' }
  | { kind: 'detached'; reason: string }
  | { kind: 'ended'; result: RunResult };

/** A run launched in this process, and its way through {@link RunLifecycleState}. */
export interface RunLifecycle {
  readonly runId: string;
  readonly actor: AgentRunActor;
  readonly events$: Observable<RunEvent>;
  /** How the run ended or left; never rejects. */
  readonly result: Promise<RunResult>;
  /** Resolves once the run is past `starting` (live, or refused by the store: `result` says why). */
  readonly started: Promise<void>;
  readonly state: RunLifecycleState;
  readonly ledger: ToolLedger;
  /** The tools the run may call (its own selection of its runtime's). */
  readonly registry: ToolRegistry;
  /** Resolves once a leave under way (if any) is done. */
  settled(): Promise<void>;
  /**
   * Leaves this process without ending: `unloaded` only while parked (after its calls in flight
   * have returned), `runtime closed` whatever it does (its calls in flight are aborted and settle).
   * Resolves when it has left, its checkpoints written.
   */
  leave(reason: LeaveReason): Promise<void>;
}

const parkedPhases = new Set<RunPhase>(['paused', 'waiting_input']);
const isParked = (snapshot: AgentRunSnapshot) =>
  snapshot.status === 'active' && parkedPhases.has(snapshot.value as RunPhase);

/**
 * Spawns a run under the runtime's supervisor, with its events, checkpoint writer, deadline timer
 * and tool ledger, and takes it through its lifecycle. Returns at once: the actor exists and the
 * events wait for the next turn of the event loop. The run calls its model and tools only once
 * `prepare` has stored it. Throws `CHECKPOINT_INVALID` (before any store work) if XState cannot
 * restore the snapshot.
 */
export function createRunLifecycle(
  environment: RunEnvironment,
  spec: RunSpec,
  /** Told, synchronously, the moment the run ends or has left: from then on, controls load it again. */
  onFinished: () => void,
): RunLifecycle {
  const { runId, signal } = spec;
  const { clock, supervisor } = environment;
  let state: RunLifecycleState = { kind: 'starting' };
  const live = () => (state.kind === 'live' ? state : undefined);

  let markReady: () => void = () => {};
  let failReady: (error: unknown) => void = () => {};
  // Resolves when the run is in the store: its model turn and tool calls wait for it.
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  ready.catch(() => {});
  // The store as this owner of the run writes to it: fenced by the owner epoch it took the run with.
  const store = async () => {
    await ready;
    if (fenced !== undefined) return fenced;
    throw new AgentchartError({ code: 'RUN_ENDED', message: `Run '${runId}' is not in a store` });
  };
  let fenced: CheckpointStore | undefined;

  const events = createRunEvents(environment, {
    runId,
    firstSeqs: spec.firstSeqs ?? { start: 0, count: eventSeqRange },
    store,
    onStoreError: (error) => fail(error),
  });
  const { emit } = events;
  const ledger = createToolLedger();
  // Aborted when the run ends or leaves: its tool calls in flight stop then (not at a pause).
  const runAbort = new AbortController();
  const fail = (error: unknown) => {
    if (actor.getSnapshot().status === 'active') actor.send({ type: 'FAIL', error: storeFailure(error) });
  };

  const restoring = 'snapshot' in spec.start;
  const context = restoring
    ? ((spec.start as { snapshot: { context?: AgentRunContext } }).snapshot.context as AgentRunContext)
    : spec.start.input.context;
  const { model, systemPrompt, registry } = runSettings(environment, context?.settings ?? {});
  // Turns that may have streamed before: the next turn of a run stored while it was moving. Its
  // deltas go out live before the next checkpoint is durable, so a run stored in `act` or `observe`
  // may have streamed part of that turn in a process that then stopped: it is asked again, and
  // announced with a `retry`. A run parked by pause or for input streamed nothing after it was stored.
  const startedTurns = new Set<number>();
  if (restoring && context !== undefined) {
    const value = (spec.start as { snapshot: { value?: unknown } }).snapshot.value;
    const moving = value === 'plan' || value === 'act' || value === 'observe';
    if (moving || (value === 'paused' && context.pausedFrom === 'plan')) startedTurns.add(context.turn + 1);
  }

  const unregister = supervisor.register(runId, {
    notify: emit,
    clock,
    modelTurn: {
      model,
      systemPrompt,
      tools: registry.specs,
      emit,
      telemetry: environment.telemetry,
      price: priceOf(model.modelId, environment.prices),
      requestsFor: (calls) => requestsFor(calls, registry),
      retry: environment.retry,
      idleStreamMs: environment.timeouts.idleStreamMs,
      clock,
      ready,
      startTurn: (turn) => startedTurns.has(turn) || !startedTurns.add(turn),
    },
    toolCalls: {
      registry,
      runId,
      maxConcurrency: environment.limits.maxConcurrentToolCalls,
      emit,
      telemetry: environment.telemetry,
      clock,
      beforeEffect: async () => {
        await ready;
        const current = live();
        if (environment.durability === 'sync' && current !== undefined) {
          // Let the step that leads here be queued for writing first (observers run after the transition).
          await null;
          await current.checkpointer.flushed();
        }
      },
      journal: {
        get: async (toolCallId) => (await store()).getToolResult(runId, toolCallId),
        put: async (result) => (await store()).putToolResult(runId, result),
      },
      runSignal: runAbort.signal,
      defaultTimeoutMs: environment.timeouts.toolMs,
      ledger,
      journalMayHold: restoring || spec.start.input.context !== undefined,
    },
  });

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
  const actor = supervisor.spawn(runId, {
    run: spec.start.input,
    ...('snapshot' in spec.start ? { snapshot: spec.start.snapshot } : {}),
  });
  // A run restored while waiting asks again: its requests were not answered.
  if (restoring && actor.getSnapshot().value === 'waiting_input') {
    for (const request of actor.getSnapshot().context.pendingRequests)
      emit({ type: 'input-request', request });
  }
  let lastContext = actor.getSnapshot().context;
  const deadlines = createDeadlineTimer(clock, (limit, phase) =>
    actor.send({ type: 'TIMEOUT', limit, phase }),
  );
  deadlines.arm(actor.getSnapshot());

  let resolveResult: (result: RunResult) => void = () => {};
  const result = new Promise<RunResult>((resolve) => {
    resolveResult = resolve;
  });
  const cancelFromSignal = () => actor.send({ type: 'CANCEL', reason: abortReason(signal) });

  /** The last step: the run has ended or left; its events end, and its result resolves. */
  const finish = async (
    next: Exclude<RunLifecycleState, { kind: 'starting' | 'live' | 'leaving' }>,
    outcome: RunResult,
    /** The supervisor saw the actor crash, and recorded it so itself. */
    crashed = false,
  ) => {
    if (state.kind === 'parked' || state.kind === 'detached' || state.kind === 'ended') return;
    state = next;
    onFinished();
    deadlines.clear();
    runAbort.abort(new Error(`run ${outcome.status}`));
    signal?.removeEventListener('abort', cancelFromSignal);
    if (next.kind === 'ended' && !crashed) supervisor.ended(runId, outcome.status);
    unregister();
    // Calls still running (after a cancel) settle into the journal; the runtime waits for them before it closes.
    if (ledger.running > 0) {
      const settling = ledger.settled();
      environment.settling.add(settling);
      void settling.then(() => environment.settling.delete(settling));
    }
    await events.end(outcome, next.kind !== 'ended');
    resolveResult(outcome);
  };

  /** The actor stopped: it reached a final state, or it was stopped (to leave, or from outside). */
  const onActorStopped = async () => {
    const snapshot = actor.getSnapshot();
    if (snapshot.status === 'done') {
      let ended = resultOf(runId, snapshot, lastContext);
      try {
        await ready;
        const current = state.kind === 'live' ? state : undefined;
        await current?.checkpointer.finish(snapshot.value as RunPhase);
        await environment.onEnded(ended, snapshot.context).catch(() => {});
      } catch (error) {
        // A run whose end could not be stored is reported as failed: the store still holds it as running.
        ended = failure(runId, snapshot, lastContext, storeFailure(error));
      }
      return finish({ kind: 'ended', result: ended }, ended);
    }
    if (state.kind === 'leaving') return; // `leave` finishes it.
    if (state.kind === 'ended') return; // The store refused it.
    // Stopped from outside (the supervisor's RUN.STOP), as a crash would: the store holds it, resumable.
    const reason = 'actor stopped';
    const message = `Run '${runId}' was stopped (${reason}); recover() or resume() continues it`;
    const stopped = { errorClass: 'cancelled', recoverable: true, message, details: { reason } } as const;
    return finish({ kind: 'detached', reason }, failure(runId, snapshot, lastContext, stopped, 'cancelled'));
  };

  let changedWhileStarting = false;
  actor.subscribe({
    next: (snapshot) => {
      lastContext = snapshot.context ?? lastContext;
      deadlines.arm(snapshot);
      ledger.forgetRecorded(lastContext);
      const current = live();
      if (current !== undefined) current.checkpointer.observe(snapshot, () => persistWithoutContext(actor));
      else if (state.kind === 'starting') changedWhileStarting = true;
      if (environment.unloadParked && isParked(snapshot)) void lifecycle.leave('unloaded');
    },
    complete: () => void onActorStopped(),
    error: (error) => {
      const failed = failure(runId, actor.getSnapshot(), lastContext, toRunError(error, 'internal'));
      void finish({ kind: 'ended', result: failed }, failed, true);
    },
  });
  if (signal?.aborted) cancelFromSignal();
  else signal?.addEventListener('abort', cancelFromSignal, { once: true });

  const initial = {
    snapshot: actor.getSnapshot(),
    persisted: persistWithoutContext(actor),
    eventSeqs: eventSeqRange,
  };
  const started = spec.prepare(initial).then(
    (run) => {
      fenced = fencedStore(run.store, run.record.epoch);
      environment.onLive?.(runId, run.record.epoch);
      const checkpointer = createCheckpointer({
        store: run.store,
        record: run.record,
        policy: environment.policy,
        clock,
        emit,
        onFailure: fail,
      });
      state = { kind: 'live', store: run.store, checkpointer };
      events.register();
      const { headCheckpointId, stepNum } = run.record;
      if (run.created && headCheckpointId !== null) {
        emit({
          type: 'checkpoint',
          checkpointId: headCheckpointId,
          stepNum,
          phase: initial.snapshot.value as RunPhase,
        });
      }
      // The state it is in now is stored already (its first checkpoint, or the one it resumes), unless
      // it moved on meanwhile or continues a run after its end (a new state).
      const continued = !run.created && !restoring && spec.start.input.context !== undefined;
      if ((changedWhileStarting || continued) && actor.getSnapshot().status === 'active') {
        checkpointer.observe(actor.getSnapshot(), () => persistWithoutContext(actor));
      }
      markReady();
    },
    (error: unknown) => {
      failReady(error);
      const code = AgentchartError.isInstance(error) ? error.code : undefined;
      const refused = failure(
        runId,
        actor.getSnapshot(),
        lastContext,
        code === 'DUPLICATE_RUN_ID' ? toRunError(error, 'invalid_request') : storeFailure(error),
      );
      const ending = finish({ kind: 'ended', result: refused }, refused);
      supervisor.stop(runId, 'store refused the run');
      return ending;
    },
  );

  let leaving: Promise<void> | undefined;
  const lifecycle: RunLifecycle = {
    runId,
    actor,
    events$: events.events$,
    result,
    started,
    get state() {
      return state;
    },
    ledger,
    registry,
    async settled() {
      await started;
      if (state.kind === 'leaving') await state.left;
    },
    async leave(reason) {
      await started;
      await leaving;
      if (reason === 'unloaded') {
        if (state.kind !== 'live' || !isParked(actor.getSnapshot())) return;
        // A call in flight while paused finishes (into the journal) before the run may leave.
        await ledger.settled();
        await leaving;
        if (!isParked(actor.getSnapshot())) return;
      }
      const current = live();
      if (current === undefined || actor.getSnapshot().status !== 'active') return;
      let markLeft: () => void = () => {};
      leaving = new Promise<void>((resolve) => {
        markLeft = resolve;
      });
      state = { kind: 'leaving', reason, checkpointer: current.checkpointer, left: leaving };
      const snapshot = actor.getSnapshot();
      supervisor.stop(runId, reason);
      // Calls in flight (the runtime closing) are aborted and settle; one that returns is journaled.
      runAbort.abort(new Error(reason));
      await ledger.settled();
      await current.checkpointer.flushed().catch(() => {});
      // A run that leaves while it waits says where it waits; one stopped mid-step, that it was stopped.
      if (isParked(snapshot)) {
        const status = snapshot.value as 'paused' | 'waiting_input';
        const next =
          reason === 'unloaded'
            ? ({ kind: 'parked', status } as const)
            : ({ kind: 'detached', reason } as const);
        await finish(next, resultOf(runId, snapshot, lastContext, status));
      } else {
        const message = `Run '${runId}' was stopped (${reason}); recover() or resume() continues it`;
        const stopped = { errorClass: 'cancelled', recoverable: true, message, details: { reason } } as const;
        await finish(
          { kind: 'detached', reason },
          failure(runId, snapshot, lastContext, stopped, 'cancelled'),
        );
      }
      markLeft();
    },
  };
  return lifecycle;
}

function abortReason(signal: AbortSignal | undefined): string {
  const reason: unknown = signal?.reason;
  if (typeof reason === 'string') return reason;
  if (reason instanceof Error) return reason.message;
  return 'aborted';
}
