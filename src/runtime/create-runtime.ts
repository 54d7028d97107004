import { randomUUID } from 'node:crypto';
import { createActor, type SnapshotFrom } from 'xstate';
import { createModelTurnLogic } from '../actors/model-turn.js';
import { createToolCallsLogic } from '../actors/tool-calls.js';
import { AgentchartError } from '../agentchart-error.js';
import { agentRunMachine } from '../machines/agent-run-machine.js';
import { textOf } from '../model/message.js';
import { toRunError } from '../run-error.js';
import type { RunResult, RunStatus } from '../run-result.js';
import { createRunEventStream } from '../streaming/run-event-stream.js';
import { toAsyncIterable } from '../streaming/to-async-iterable.js';
import { createToolRegistry } from '../tools/tool-registry.js';
import type { RunHandle } from './run-handle.js';
import { parseStartOptions, type RuntimeConfig, resolveLimits, type StartOptions } from './runtime-config.js';

/** Owns the runs of one process: starts them and closes them. */
export interface Runtime {
  /** Starts a run. It begins on the next microtask, so subscribing right after `start` misses nothing. */
  start(options: StartOptions): RunHandle;
  /** Cancels the active runs (reason `runtime closed`), waits for them to end, and refuses new ones. */
  close(): Promise<void>;
}

/**
 * Creates a runtime that runs agents as statecharts: each run plans (one model turn), acts (runs
 * the tool calls of that turn) and observes (appends results, checks limits) until the model
 * answers without calling a tool.
 *
 * @example
 * ```ts
 * import { createRuntime, defineTool } from 'agentchart';
 * import { anthropicModel } from 'agentchart/anthropic';
 *
 * const runtime = createRuntime({ model: anthropicModel(), tools: [weather] });
 * const run = runtime.start({ input: 'What is the weather in Paris?' });
 * run.events$.subscribe((event) => event.type === 'text-delta' && process.stdout.write(event.text));
 * const result = await run.result; // { status: 'done', success: true, output: '...', usage: {...} }
 * await runtime.close();
 * ```
 */
export function createRuntime(config: RuntimeConfig): Runtime {
  if (typeof config?.model?.stream !== 'function') {
    throw new AgentchartError({
      code: 'INVALID_ARGUMENT',
      message: 'createRuntime: `model` must be a ModelClient',
    });
  }
  const limits = resolveLimits(config.limits);
  const registry = createToolRegistry(config.tools ?? []);
  const telemetry = config.telemetry === true;
  const active = new Map<string, RunHandle>();
  let closed = false;

  function start(options: StartOptions): RunHandle {
    if (closed) throw new AgentchartError({ code: 'RUNTIME_CLOSED', message: 'The runtime is closed' });
    const { input, signal } = parseStartOptions(options);
    const runId = options.runId ?? `run_${randomUUID()}`;
    if (active.has(runId)) {
      throw new AgentchartError({
        code: 'DUPLICATE_RUN_ID',
        message: `A run '${runId}' is already active`,
        details: { runId },
      });
    }
    const stream = createRunEventStream(runId);
    const emit = (event: Parameters<typeof stream.emit>[0]) => {
      if (telemetry || event.type !== 'telemetry') stream.emit(event);
    };
    const machine = agentRunMachine.provide({
      actors: {
        modelTurn: createModelTurnLogic({
          model: config.model,
          system: config.systemPrompt,
          tools: registry.specs,
          emit,
          telemetry,
        }),
        toolCalls: createToolCallsLogic({
          registry,
          runId,
          maxConcurrency: limits.maxConcurrentToolCalls,
          emit,
          telemetry,
        }),
      },
    });
    const actor = createActor(machine, {
      input: { runId, messages: [{ role: 'user', content: [{ type: 'text', text: input }] }], limits },
      ...(config.inspect === undefined ? {} : { inspect: config.inspect }),
    });
    actor.on('*', (event) => stream.emit(event));
    const cancel = () => actor.send({ type: 'CANCEL', reason: abortReason(signal) });
    const result = new Promise<RunResult>((resolve) => {
      actor.subscribe({
        complete: () => resolve(resultOf(runId, actor.getSnapshot())),
        error: (error) => resolve(internalFailure(runId, actor.getSnapshot(), error)),
      });
    });
    void result.then((ended) => {
      signal?.removeEventListener('abort', cancel);
      active.delete(runId);
      stream.end({ type: 'run-end', result: ended });
    });
    const handle: RunHandle = {
      id: runId,
      events$: stream.events$,
      result,
      actor,
      [Symbol.asyncIterator]: () => toAsyncIterable(stream.events$)[Symbol.asyncIterator](),
    };
    active.set(runId, handle);
    queueMicrotask(() => {
      stream.emit({ type: 'run-start', input });
      actor.start();
      if (signal?.aborted) cancel();
      else signal?.addEventListener('abort', cancel, { once: true });
    });
    return handle;
  }

  async function close(): Promise<void> {
    closed = true;
    const runs = [...active.values()];
    for (const run of runs) run.actor.send({ type: 'CANCEL', reason: 'runtime closed' });
    await Promise.all(runs.map((run) => run.result));
  }

  return { start, close };
}

type AgentRunSnapshot = SnapshotFrom<typeof agentRunMachine>;

function resultOf(runId: string, snapshot: AgentRunSnapshot): RunResult {
  const status = snapshot.value as RunStatus;
  const { context } = snapshot;
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

function internalFailure(runId: string, snapshot: AgentRunSnapshot, error: unknown): RunResult {
  return {
    ...resultOf(runId, snapshot),
    status: 'failed',
    success: false,
    error: toRunError(error, 'internal'),
  };
}

function abortReason(signal: AbortSignal | undefined): string {
  const reason: unknown = signal?.reason;
  if (typeof reason === 'string') return reason;
  if (reason instanceof Error) return reason.message;
  return 'aborted';
}
