import { createActor, fromCallback, fromPromise, type InspectionEvent, type Observer } from 'xstate';
import { createModelTurnLogic } from '../actors/model-turn.js';
import { createToolCallsLogic } from '../actors/tool-calls.js';
import { AgentchartError } from '../agentchart-error.js';
import { agentRunMachine } from '../machines/agent-run-machine.js';
import type {
  AgentRunContext,
  AgentRunEvent,
  AgentRunInput,
  ModelTurnInput,
  ModelTurnOutput,
  RunLimits,
  ToolCallsInput,
} from '../machines/agent-run-types.js';
import { textOf } from '../model/message.js';
import type { ModelClient } from '../model/model-client.js';
import type { CheckpointStore, RunRecord } from '../persistence/checkpoint-store.js';
import { toRunError } from '../run-error.js';
import type { RunResult, RunStatus } from '../run-result.js';
import type { RunEventBody, RunPhase } from '../streaming/run-event.js';
import { createRunEventStream } from '../streaming/run-event-stream.js';
import { toAsyncIterable } from '../streaming/to-async-iterable.js';
import type { ToolRegistry } from '../tools/tool-registry.js';
import type { CheckpointDurability, CheckpointPolicy } from './checkpoint-policy.js';
import {
  type AgentRunSnapshot,
  type Checkpointer,
  createCheckpointer,
  persistWithoutContext,
} from './checkpointer.js';
import type { RunHandle } from './run-handle.js';
import { parseQuery } from './runtime-config.js';

/** What every run of a runtime shares. */
export interface RunEnvironment {
  model: ModelClient;
  registry: ToolRegistry;
  systemPrompt: string | undefined;
  limits: RunLimits;
  telemetry: boolean;
  inspect: Observer<InspectionEvent> | ((event: InspectionEvent) => void) | undefined;
  policy: CheckpointPolicy;
  durability: CheckpointDurability;
  active: Map<string, RunHandle>;
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
  start:
    | { input: AgentRunInput }
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

/**
 * Creates a run's actor, its event stream and its checkpoint writer, and starts it once `prepare`
 * is done. Returns at once: the handle exists before the run starts, so nothing it emits is missed.
 * Throws `CHECKPOINT_INVALID` (before any store work) if XState cannot restore the snapshot.
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
  const machine = agentRunMachine.provide({
    actors: {
      modelTurn: createModelTurnLogic({
        model: environment.model,
        system: environment.systemPrompt,
        tools: environment.registry.specs,
        emit,
        telemetry: environment.telemetry,
      }),
      toolCalls: createToolCallsLogic({
        registry: environment.registry,
        runId,
        maxConcurrency: environment.limits.maxConcurrentToolCalls,
        emit,
        telemetry: environment.telemetry,
        beforeEffect,
        journal: {
          get: (toolCallId) => store().getToolResult(runId, toolCallId),
          put: (result) => store().putToolResult(runId, result),
        },
      }),
    },
  });
  const inspect = environment.inspect === undefined ? {} : { inspect: environment.inspect };
  if ('snapshot' in spec.start) assertRestorable(spec.start.snapshot, spec.start.input);
  const actor =
    'snapshot' in spec.start
      ? createActor(machine, { input: spec.start.input, snapshot: spec.start.snapshot as never, ...inspect })
      : createActor(machine, { input: spec.start.input, ...inspect });
  let lastContext = actor.getSnapshot().context;
  actor.on('*', (event) => stream.emit(event));

  let settle: (result: RunResult) => void = () => {};
  const result = new Promise<RunResult>((resolve) => {
    settle = resolve;
  });
  const cancel = () => actor.send({ type: 'CANCEL', reason: abortReason(signal) });
  void result.then((ended) => {
    signal?.removeEventListener('abort', cancel);
    environment.active.delete(runId);
    stream.end({ type: 'run-end', result: ended });
  });

  const initial = {
    snapshot: actor.getSnapshot(),
    persisted: persistWithoutContext(actor),
  };
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
      // The state the run starts in is stored already (its first checkpoint, or the one it resumes).
      let skip = true;
      actor.subscribe({
        next: (snapshot) => {
          lastContext = snapshot.context ?? lastContext;
          if (skip) skip = false;
          else writer.observe(snapshot, () => persistWithoutContext(actor));
        },
        complete: () => {
          const snapshot = actor.getSnapshot();
          if (snapshot.status !== 'done') {
            // Stopped from outside before it ended: as far as the store knows it is still running
            // (resumable, as after a crash).
            const stopped = {
              errorClass: 'cancelled',
              recoverable: true,
              message: `Run '${runId}' was stopped`,
              details: {},
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
        stream.emit({
          type: 'run-start',
          input: spec.inputText,
          ...('resumedFrom' in spec.start ? { resumedFrom: spec.start.resumedFrom } : {}),
        });
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
        }
        if (signal?.aborted) cancel();
        else signal?.addEventListener('abort', cancel, { once: true });
      });
    },
    (error: unknown) => {
      const code = AgentchartError.isInstance(error) ? error.code : undefined;
      const runError = toRunError(error, code === 'DUPLICATE_RUN_ID' ? 'invalid_request' : 'store_error');
      settle(failure(runId, actor.getSnapshot(), lastContext, runError));
    },
  );

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
  };
  environment.active.set(runId, handle);
  return { handle, started };
}

/** The text of the first user message: what the run was asked. */
export function inputTextOf(messages: AgentRunInput['messages']): string {
  const first = messages.find((message) => message.role === 'user');
  return first === undefined ? '' : textOf(first.content);
}

function resultOf(runId: string, snapshot: AgentRunSnapshot, lastContext: AgentRunContext): RunResult {
  const status = snapshot.value as RunStatus;
  // An actor that errored has no context in its snapshot: report the last one it had.
  const context = snapshot.context ?? lastContext;
  const lastAnswer = context.messages.findLast((message) => message.role === 'assistant');
  return {
    runId,
    status,
    success: status === 'done',
    output: lastAnswer === undefined ? undefined : textOf(lastAnswer.content),
    ...(context.error === undefined ? {} : { error: context.error }),
    usage: { ...context.usage, turns: context.turn },
  };
}

function failure(
  runId: string,
  snapshot: AgentRunSnapshot,
  lastContext: AgentRunContext,
  error: NonNullable<RunResult['error']>,
  status: RunStatus = 'failed',
): RunResult {
  return { ...resultOf(runId, snapshot, lastContext), status, success: false, error };
}

const inertMachine = agentRunMachine.provide({
  actors: {
    modelTurn: fromPromise<ModelTurnOutput, ModelTurnInput>(() => new Promise(() => {})),
    toolCalls: fromCallback<AgentRunEvent, ToolCallsInput>(() => {}),
  },
});

/**
 * Restores and starts the snapshot on a machine whose actors do nothing, and throws
 * `CHECKPOINT_INVALID` if XState cannot: a snapshot that validates can still be one XState chokes on.
 */
function assertRestorable(snapshot: Record<string, unknown>, input: AgentRunInput): void {
  let failure: unknown;
  try {
    const probe = createActor(inertMachine, { snapshot: snapshot as never, input });
    probe.subscribe({ error: (error) => (failure ??= error) });
    probe.start();
    if (probe.getSnapshot().status === 'error') failure ??= probe.getSnapshot().error;
    probe.stop();
  } catch (error) {
    failure ??= error;
  }
  if (failure !== undefined) {
    const reason = failure instanceof Error ? failure.message : String(failure);
    throw new AgentchartError({
      code: 'CHECKPOINT_INVALID',
      message: `The checkpoint's snapshot cannot be restored: ${reason}`,
      cause: failure,
    });
  }
}

function abortReason(signal: AbortSignal | undefined): string {
  const reason: unknown = signal?.reason;
  if (typeof reason === 'string') return reason;
  if (reason instanceof Error) return reason.message;
  return 'aborted';
}
