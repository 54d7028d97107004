import { randomUUID } from 'node:crypto';
import { AgentchartError, runNotFound } from '../agentchart-error.js';
import type { Message } from '../model/message.js';
import { runOfCheckpoint } from '../persistence/checkpoint-envelope.js';
import type { CheckpointStore } from '../persistence/checkpoint-store.js';
import type { RunResult } from '../run-result.js';
import { openSession, type SessionHost } from '../sessions/session.js';
import { createSessionCommits } from '../sessions/session-commits.js';
import { createEventLogRegistry, followRunEvents } from '../streaming/event-log.js';
import { guarded } from '../streaming/guarded-observable.js';
import { createToolRegistry } from '../tools/tool-registry.js';
import { statusOf } from './checkpoints/checkpoint-policy.js';
import { buildEnvelope } from './checkpoints/checkpointer.js';
import { exportCheckpoint } from './checkpoints/export-checkpoint.js';
import type { ResumeSource } from './checkpoints/load-checkpoint.js';
import { resumeRun } from './checkpoints/resume-run.js';
import { type ForkOptions, forkRun } from './history/fork-run.js';
import { replayRun } from './history/replay-run.js';
import { compareRuns, historyOf, pointOf } from './history/run-history.js';
import { webSocketInspection } from './inspector.js';
import { signalOf } from './run/cancel-token.js';
import { launchRun } from './run/launch-run.js';
import type { RunEnvironment } from './run/run-environment.js';
import type { RunHandle } from './run/run-handle.js';
import type { RunStatusInfo } from './run/run-status.js';
import { createSupervisor } from './run/supervisor.js';
import type { Runtime } from './runtime.js';
import {
  defaultStorePath,
  defined,
  parseEventsArguments,
  parseQuery,
  parseResumeOptions,
  parseStartOptions,
  type RecoverOptions,
  type ResumeOptions,
  type RuntimeConfig,
  resolveRuntimeConfig,
  type StartOptions,
} from './runtime-config.js';

/**
 * Creates a runtime that runs agents as statecharts: each run plans (one model turn), acts (runs
 * the tool calls of that turn) and observes (appends results, checks limits) until the model
 * answers without calling a tool. Every step is checkpointed (LevelDB in `./.agentchart` unless a
 * `store` is given), so a run survives a crash, can wait days for a human, and can be resumed from
 * any checkpoint.
 *
 * @example
 * ```ts
 * import { createRuntime, defineTool } from 'agentchart';
 * import { anthropicModel } from 'agentchart/anthropic';
 *
 * const runtime = createRuntime({ model: anthropicModel(), tools: [weather], limits: { maxCostUsd: 0.5 } });
 * await runtime.recover(); // continue what a previous process left unfinished
 * const run = runtime.start({ input: 'What is the weather in Paris?', timeoutMs: 60_000 });
 * run.events$.subscribe((event) => event.type === 'text-delta' && process.stdout.write(event.text));
 * const result = await run.result; // { status: 'done', success: true, output: '...', usage: {...} }
 * await runtime.close();
 * ```
 */
export function createRuntime(config: RuntimeConfig): Runtime {
  const settings = resolveRuntimeConfig(config);
  const { cluster } = config;
  if (cluster === undefined) {
    const {
      load: _,
      liveHandle: __,
      eventsFlushed: ___,
      checkpointsFlushed: ____,
      ...runtime
    } = createLocalRuntime(config, settings);
    return runtime;
  }
  const listeners = new Set<(runId: string, epoch: number) => void>();
  const { cluster: _, ...localConfig } = config;
  const local = createLocalRuntime({ ...localConfig, unloadParked: true }, undefined, {
    onLive: (runId, epoch) => {
      for (const listener of listeners) listener(runId, epoch);
    },
  });
  const { load, liveHandle, eventsFlushed, checkpointsFlushed, ...localRuntime } = local;
  return cluster.attach({
    config,
    local: localRuntime,
    load,
    liveHandle,
    eventsFlushed,
    checkpointsFlushed,
    onRunLive: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  });
}

/** The runtime that executes its runs in this process. */
function createLocalRuntime(
  config: RuntimeConfig,
  resolved?: ReturnType<typeof resolveRuntimeConfig>,
  hooks: Pick<RunEnvironment, 'onLive'> = {},
): Runtime & {
  load(runId: string): Promise<RunHandle>;
  liveHandle(runId: string): RunHandle | undefined;
  eventsFlushed(): Promise<void>;
  checkpointsFlushed(runId: string): Promise<void>;
} {
  const settings = resolved ?? resolveRuntimeConfig(config);
  const inspection = typeof config.inspect === 'string' ? webSocketInspection(config.inspect) : undefined;
  const environment: RunEnvironment = {
    model: config.model,
    registry: createToolRegistry(config.tools ?? []),
    systemPrompt: config.systemPrompt,
    limits: settings.limits,
    timeouts: settings.timeouts,
    retry: settings.retry,
    prices: settings.prices,
    models: new Map([...(config.models ?? []), config.model].map((model) => [model.modelId, model])),
    telemetry: config.telemetry === true,
    policy: settings.policy,
    durability: settings.durability,
    unloadParked: settings.unloadParked,
    clock: settings.clock,
    loaded: new Map(),
    settling: new Set(),
    ...hooks,
    supervisor: createSupervisor(
      settings.clock,
      inspection?.observer ?? (config.inspect as Exclude<typeof config.inspect, string>),
    ),
    eventLogs: createEventLogRegistry({ store: () => store(), maxEvents: settings.maxLoggedEvents }),
    reload: (runId) => load(runId),
    onEnded: (result, context) => sessionCommits.commitIfSession(result, context),
  };
  const { loaded } = environment;
  let closed = false;
  let opening: Promise<CheckpointStore> | undefined;
  const loading = new Map<string, Promise<RunHandle>>();

  function store(): Promise<CheckpointStore> {
    opening ??= (
      config.store === undefined
        ? import('../persistence/open-store.js').then(({ openStore }) =>
            openStore(process.env.AGENTCHART_STORE || defaultStorePath),
          )
        : Promise.resolve(config.store)
    ).catch((error: unknown) => {
      opening = undefined;
      throw error;
    });
    return opening;
  }

  const runtimeClosed = () =>
    new AgentchartError({ code: 'RUNTIME_CLOSED', message: 'The runtime is closed' });
  function ensureOpen(): void {
    if (closed) throw runtimeClosed();
  }

  function start(options: StartOptions): RunHandle {
    ensureOpen();
    const { input } = parseStartOptions(options);
    return launchNew({ ...options, input, history: [] });
  }

  /** Launches a new run: its history (a session's, or none), then the user's input. */
  function launchNew(
    options: StartOptions & { history: readonly Message[]; session?: { sessionId: string; version: number } },
  ): RunHandle {
    const { input, history } = options;
    const runId = options.runId ?? `run_${randomUUID()}`;
    if (loaded.has(runId)) {
      throw new AgentchartError({
        code: 'DUPLICATE_RUN_ID',
        message: `A run '${runId}' is already active`,
        details: { runId },
      });
    }
    const messages: Message[] = [
      ...history.map(({ role, content }) => ({ role, content })),
      { role: 'user', content: [{ type: 'text', text: input }] },
    ];
    const totalMs = options.timeoutMs ?? settings.timeouts.totalMs;
    const timeouts = defined({ totalMs, planMs: settings.timeouts.planMs, actMs: settings.timeouts.actMs });
    const session =
      options.session === undefined ? {} : { session: { ...options.session, historyLength: history.length } };
    return launchRun(environment, {
      runId,
      inputText: input,
      start: {
        input: {
          runId,
          messages,
          limits: settings.limits,
          timeouts,
          startedAt: settings.clock.now(),
          ...session,
        },
      },
      prepare: async ({ snapshot, persisted, eventSeqs }) => {
        const ready = await store();
        const place = { runId, stepNum: 0, parentId: null, forkOf: null };
        const firstCheckpoint = buildEnvelope(place, snapshot, persisted, {}, settings.clock.now());
        const run = { ...place, messages, firstCheckpoint, reservedEventSeqs: eventSeqs };
        return { store: ready, record: await ready.createRun(run), created: true };
      },
      signal: signalOf(options.signal),
    }).handle;
  }

  // Sessions: each run of a session commits its messages when it ends; `session.run` waits on that.
  const sessionCommits = createSessionCommits(store);
  const sessionHost: SessionHost = {
    store,
    startSessionRun: ({ input, history, session, runId, signal, timeoutMs }) => {
      ensureOpen();
      parseStartOptions({ input, ...(runId === undefined ? {} : { runId }) });
      return launchNew({ input, history, session, ...defined({ runId, signal, timeoutMs }) });
    },
    commitOf: sessionCommits.commitOf,
  };

  /** The live handle of a run, loading it from its latest checkpoint if it is only stored. */
  function load(runId: string, options: ResumeOptions = {}): Promise<RunHandle> {
    const live = loaded.get(runId)?.handle;
    if (live !== undefined) return Promise.resolve(live);
    if (closed) return Promise.reject(runtimeClosed());
    let pending = loading.get(runId);
    if (pending === undefined) {
      pending = (async () => {
        const ready = await store();
        const record = await ready.getRun(runId);
        if (record === undefined) {
          throw runNotFound(runId);
        }
        if (record.headCheckpointId === null) {
          throw new AgentchartError({
            code: 'CHECKPOINT_NOT_FOUND',
            message: `Run '${runId}' has no checkpoint to resume from`,
            details: { runId },
          });
        }
        return resumeRun(environment, ready, settings.migrations, record.headCheckpointId, options);
      })().finally(() => loading.delete(runId));
      loading.set(runId, pending);
    }
    return pending;
  }

  async function resume(from: ResumeSource, options: ResumeOptions = {}): Promise<RunHandle> {
    ensureOpen();
    parseResumeOptions(options);
    if (typeof from === 'string' && isRunId(from) && options.runId === undefined) {
      const handle = await load(from, options);
      // Loaded from the store, a run goes on where it was; only a paused one is told to resume.
      if (handle.actor.getSnapshot().value === 'paused') await handle.resume();
      return handle;
    }
    return resumeRun(environment, await store(), settings.migrations, from, options);
  }

  async function pause(runId: string): Promise<void> {
    ensureOpen();
    const live = loaded.get(runId)?.handle;
    if (live !== undefined) return live.pause();
    const record = await (await store()).getRun(runId);
    if (record === undefined) throw runNotFound(runId);
    if (record.status !== 'paused' && record.status !== 'waiting_input') {
      throw new AgentchartError({
        code: 'RUN_ENDED',
        message: `Run '${runId}' is not live here (${record.status})`,
        details: { runId },
      });
    }
  }

  async function cancel(runId: string, reason = 'cancelled'): Promise<RunResult> {
    ensureOpen();
    return (await load(runId)).cancel(reason);
  }

  async function status(runId: string): Promise<RunStatusInfo> {
    const live = loaded.get(runId)?.handle;
    if (live !== undefined) {
      const { value, context } = live.actor.getSnapshot();
      const phase = value as RunStatusInfo['phase'];
      return {
        runId,
        loaded: true,
        status: statusOf(phase),
        phase,
        pendingRequests: context.pendingRequests,
      };
    }
    const ready = await store();
    const record = await ready.getRun(runId);
    if (record === undefined) throw runNotFound(runId);
    const head =
      record.headCheckpointId === null ? undefined : await ready.getCheckpoint(record.headCheckpointId);
    return {
      runId,
      loaded: false,
      status: record.status,
      phase: head?.phase ?? 'plan',
      pendingRequests: head?.context.pendingRequests ?? [],
    };
  }

  const answer =
    (send: (handle: RunHandle) => Promise<void>) =>
    async (runId: string): Promise<RunHandle> => {
      ensureOpen();
      const handle = await load(runId);
      await send(handle);
      return handle;
    };

  async function recover(options: RecoverOptions = {}): Promise<RunHandle[]> {
    ensureOpen();
    const report =
      options.onError ??
      ((error, runId) => console.warn(`agentchart: cannot recover run '${runId}':`, error));
    const statuses = settings.unloadParked
      ? (['active'] as const)
      : (['active', 'paused', 'waiting_input'] as const);
    const stored = await (await store()).listRuns({ status: [...statuses] });
    const handles: RunHandle[] = [];
    for (const run of stored) {
      if (loaded.has(run.runId)) continue;
      try {
        handles.push(await load(run.runId));
      } catch (error) {
        report(error, run.runId);
      }
    }
    return handles;
  }

  const checkpoints: Runtime['checkpoints'] = {
    list: async (query) => (await store()).listCheckpoints(parseQuery('checkpoints.list', query)),
    async get(checkpointId) {
      const envelope = await (await store()).getCheckpoint(checkpointId);
      if (envelope === undefined) {
        throw new AgentchartError({
          code: 'CHECKPOINT_NOT_FOUND',
          message: `No checkpoint '${checkpointId}' in the store`,
          details: { checkpointId },
        });
      }
      return envelope;
    },
    async delete(checkpointId) {
      const ready = await store();
      const runId = runOfCheckpoint(checkpointId);
      if (loaded.has(runId) && (await ready.getRun(runId))?.headCheckpointId === checkpointId) {
        throw new AgentchartError({
          code: 'RUN_ACTIVE',
          message: `Checkpoint '${checkpointId}' is the head of run '${runId}', which is loaded in this runtime: unload, cancel or close it first`,
          details: { checkpointId, runId },
        });
      }
      return ready.deleteCheckpoint(checkpointId);
    },
    export: async (checkpointId, path) => exportCheckpoint(await checkpoints.get(checkpointId), path),
  };

  const runs: Runtime['runs'] = {
    list: async (query) => (await store()).listRuns(parseQuery('runs.list', query)),
    get: async (runId) => (await store()).getRun(runId),
  };

  async function close(): Promise<void> {
    closed = true;
    await Promise.allSettled([...loading.values()]);
    // Live runs stop with their checkpoints written and stay resumable: the next process recovers them.
    const running = [...loaded.values()];
    await Promise.all(running.map((run) => run.leave('runtime closed')));
    await Promise.all(running.map(({ handle }) => handle.result));
    // Tool calls of runs that ended (cancelled) still running: journaled when they return.
    await Promise.all([...environment.settling]);
    await environment.eventLogs.flushed();
    environment.supervisor.actor.stop();
    inspection?.stop();
    if (config.store === undefined && opening !== undefined)
      await (await opening.catch(() => undefined))?.close();
  }

  const fork = async (checkpointId: string, options: ForkOptions = {}) => {
    ensureOpen();
    return forkRun(environment, await store(), settings.migrations, checkpointId, options);
  };

  return {
    start,
    resume,
    fork,
    forkMany: (checkpointId, branches) =>
      Promise.all(branches.map((modifications) => fork(checkpointId, { modifications }))),
    history: async (runId) => historyOf(await store(), runId),
    events: (runId, options = {}) => {
      return guarded(followRunEvents(environment.eventLogs, runId, parseEventsArguments(runId, options)));
    },
    at: async (checkpointId) => pointOf(await checkpoints.get(checkpointId)),
    compare: async (runIdA, runIdB) => compareRuns(await store(), runIdA, runIdB),
    replay: async (runId, options = {}) => replayRun(await store(), runId, options.untilStep),
    pause,
    cancel,
    status,
    respond: (runId, requestId, value) => answer((handle) => handle.respond(requestId, value))(runId),
    approve: (runId, requestId) => answer((handle) => handle.approve(requestId))(runId),
    reject: (runId, requestId, reason) => answer((handle) => handle.reject(requestId, reason))(runId),
    recover,
    session: (sessionId, options) => openSession(sessionHost, sessionId, options),
    checkpoints,
    runs,
    supervisor: environment.supervisor.actor,
    load,
    liveHandle: (runId) => loaded.get(runId)?.handle,
    eventsFlushed: () => environment.eventLogs.flushed(),
    checkpointsFlushed: async (runId) => loaded.get(runId)?.checkpointsFlushed(),
    work: async () => {
      throw new AgentchartError({
        code: 'INVALID_ARGUMENT',
        message:
          'runtime.work() makes a process a worker of a cluster: createRuntime({ store, cluster: bullmqCluster(…) })',
      });
    },
    close,
  };
}

/** A run id, as opposed to a checkpoint id (`runId@step`) or a file path. */
function isRunId(value: string): boolean {
  return !value.includes('@') && !value.includes('/') && !value.includes('\\') && !value.endsWith('.json');
}
