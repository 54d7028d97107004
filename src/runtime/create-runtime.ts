import { randomUUID } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AgentchartError } from '../agentchart-error.js';
import type { Message } from '../model/message.js';
import type { CheckpointEnvelope, CheckpointMeta } from '../persistence/checkpoint-envelope.js';
import type {
  CheckpointQuery,
  CheckpointStore,
  RunQuery,
  RunRecord,
} from '../persistence/checkpoint-store.js';
import { createToolRegistry } from '../tools/tool-registry.js';
import { isTerminal } from './checkpoint-policy.js';
import { buildEnvelope } from './checkpointer.js';
import { inputTextOf, launchRun, type RunEnvironment } from './launch-run.js';
import { loadCheckpoint, type ResumeSource } from './load-checkpoint.js';
import type { RunHandle } from './run-handle.js';
import {
  defaultStorePath,
  parseQuery,
  parseResumeOptions,
  parseStartOptions,
  type RecoverOptions,
  type ResumeOptions,
  type RuntimeConfig,
  resolveRuntimeConfig,
  type StartOptions,
} from './runtime-config.js';
import { expandSnapshot } from './snapshot-codec.js';

/** Owns the runs of one process: starts, resumes and recovers them, and reads their checkpoints. */
export interface Runtime {
  /** Starts a run. It begins on the next microtask, so subscribing right after `start` misses nothing. */
  start(options: StartOptions): RunHandle;
  /**
   * Continues a run from a checkpoint id, an exported file, or an envelope object. The latest
   * checkpoint of a run continues that run; an older one (or `options.runId`) starts a new run
   * from it, so history is never overwritten. Resolves once the run is live.
   */
  resume(from: ResumeSource, options?: ResumeOptions): Promise<RunHandle>;
  /** Resumes every stored run whose latest checkpoint is not terminal (after a crash or restart). */
  recover(options?: RecoverOptions): Promise<RunHandle[]>;
  readonly checkpoints: {
    /** Checkpoint descriptions, newest first unless `order: 'asc'`. */
    list(query?: CheckpointQuery): Promise<CheckpointMeta[]>;
    /** The whole checkpoint; `CHECKPOINT_NOT_FOUND` if there is none. */
    get(checkpointId: string): Promise<CheckpointEnvelope>;
    delete(checkpointId: string): Promise<boolean>;
    /** Writes the checkpoint, self-contained, as JSON to `filePath` (resumable with `resume(filePath)`). */
    export(checkpointId: string, filePath: string): Promise<string>;
  };
  readonly runs: {
    list(query?: RunQuery): Promise<RunRecord[]>;
    get(runId: string): Promise<RunRecord | undefined>;
  };
  /** Cancels the active runs (reason `runtime closed`), waits for them, and closes the store it opened. */
  close(): Promise<void>;
}

/**
 * Creates a runtime that runs agents as statecharts: each run plans (one model turn), acts (runs
 * the tool calls of that turn) and observes (appends results, checks limits) until the model
 * answers without calling a tool. Every step is checkpointed (LevelDB in `./.agentchart` unless a
 * `store` is given), so a run survives a crash and can be resumed from any checkpoint.
 *
 * @example
 * ```ts
 * import { createRuntime, defineTool } from 'agentchart';
 * import { anthropicModel } from 'agentchart/anthropic';
 *
 * const runtime = createRuntime({ model: anthropicModel(), tools: [weather] });
 * await runtime.recover(); // continue what a previous process left unfinished
 * const run = runtime.start({ input: 'What is the weather in Paris?' });
 * run.events$.subscribe((event) => event.type === 'text-delta' && process.stdout.write(event.text));
 * const result = await run.result; // { status: 'done', success: true, output: '...', usage: {...} }
 * await runtime.close();
 * ```
 */
export function createRuntime(config: RuntimeConfig): Runtime {
  const settings = resolveRuntimeConfig(config);
  const environment: RunEnvironment = {
    model: config.model,
    registry: createToolRegistry(config.tools ?? []),
    systemPrompt: config.systemPrompt,
    limits: settings.limits,
    telemetry: config.telemetry === true,
    inspect: config.inspect,
    policy: settings.policy,
    durability: settings.durability,
    active: new Map(),
  };
  const { active } = environment;
  let closed = false;
  let opening: Promise<CheckpointStore> | undefined;

  function store(): Promise<CheckpointStore> {
    opening ??= (
      config.store === undefined
        ? import('../persistence/level-store.js').then(({ levelStore }) =>
            levelStore({ path: defaultStorePath }),
          )
        : Promise.resolve(config.store)
    ).catch((error: unknown) => {
      opening = undefined;
      throw error;
    });
    return opening;
  }

  function ensureOpen(): void {
    if (closed) throw new AgentchartError({ code: 'RUNTIME_CLOSED', message: 'The runtime is closed' });
  }

  function start(options: StartOptions): RunHandle {
    ensureOpen();
    const { input, signal } = parseStartOptions(options);
    const runId = options.runId ?? `run_${randomUUID()}`;
    if (active.has(runId)) {
      throw new AgentchartError({
        code: 'DUPLICATE_RUN_ID',
        message: `A run '${runId}' is already active`,
        details: { runId },
      });
    }
    const messages: Message[] = [{ role: 'user', content: [{ type: 'text', text: input }] }];
    return launchRun(environment, {
      runId,
      inputText: input,
      start: { input: { runId, messages, limits: settings.limits } },
      prepare: async ({ snapshot, persisted }) => {
        const ready = await store();
        const place = { runId, stepNum: 0, parentId: null, forkOf: null };
        const firstCheckpoint = buildEnvelope(place, snapshot, persisted);
        return {
          store: ready,
          record: await ready.createRun({ ...place, messages, firstCheckpoint }),
          created: true,
        };
      },
      signal,
    }).handle;
  }

  async function resume(from: ResumeSource, options: ResumeOptions = {}): Promise<RunHandle> {
    ensureOpen();
    const { runId: newRunId, signal } = parseResumeOptions(options);
    const ready = await store();
    const envelope = await loadCheckpoint(from, ready, settings.migrations);
    if (isTerminal(envelope.phase)) {
      throw new AgentchartError({
        code: 'RUN_ENDED',
        message: `Checkpoint '${envelope.id}' is the end of its run (${envelope.phase}); there is nothing to resume`,
        details: { checkpointId: envelope.id, status: envelope.status },
      });
    }
    const existing = await ready.getRun(envelope.runId);
    const continues =
      newRunId === undefined && (existing === undefined || existing.headCheckpointId === envelope.id);
    const runId = continues ? envelope.runId : (newRunId ?? `run_${randomUUID()}`);
    if (active.has(runId)) {
      throw new AgentchartError({
        code: 'RUN_ACTIVE',
        message: `Run '${runId}' is already running in this runtime`,
        details: { runId },
      });
    }
    const context = { ...envelope.context, runId };
    const { messages, limits } = context;
    const { handle, started } = launchRun(environment, {
      runId,
      inputText: inputTextOf(messages),
      start: {
        input: { runId, messages, limits },
        snapshot: expandSnapshot(envelope.snapshot, context),
        resumedFrom: envelope.id,
      },
      prepare: async ({ snapshot, persisted }) => {
        if (continues && existing !== undefined) return { store: ready, record: existing, created: false };
        // A checkpoint from elsewhere (a file, another store) becomes its run's first here; an older
        // checkpoint of a run, or a copy under a new id, starts a new run whose first checkpoint follows it.
        const firstCheckpoint = continues
          ? envelope
          : buildEnvelope(
              { runId, stepNum: 0, parentId: envelope.id, forkOf: envelope.id },
              snapshot,
              persisted,
            );
        const record = await ready.createRun({
          runId,
          forkOf: firstCheckpoint.forkOf,
          messages,
          firstCheckpoint,
        });
        return { store: ready, record, created: !continues };
      },
      signal,
    });
    await started;
    return handle;
  }

  async function recover(options: RecoverOptions = {}): Promise<RunHandle[]> {
    ensureOpen();
    const report =
      options.onError ??
      ((error, runId) => console.warn(`agentchart: cannot recover run '${runId}':`, error));
    const runs = await (await store()).listRuns({ status: ['active', 'paused', 'waiting_input'] });
    const handles: RunHandle[] = [];
    for (const run of runs) {
      if (active.has(run.runId)) continue;
      if (run.headCheckpointId === null) {
        report(
          new AgentchartError({
            code: 'CHECKPOINT_NOT_FOUND',
            message: `Run '${run.runId}' has no checkpoint to resume from`,
          }),
          run.runId,
        );
        continue;
      }
      try {
        handles.push(await resume(run.headCheckpointId));
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
    delete: async (checkpointId) => (await store()).deleteCheckpoint(checkpointId),
    async export(checkpointId, filePath) {
      const envelope = await checkpoints.get(checkpointId);
      const target = resolve(filePath);
      const partial = `${target}.${process.pid}.partial`;
      await writeFile(partial, `${JSON.stringify(envelope, null, 2)}\n`);
      await rename(partial, target);
      return target;
    },
  };

  const runs: Runtime['runs'] = {
    list: async (query) => (await store()).listRuns(parseQuery('runs.list', query)),
    get: async (runId) => (await store()).getRun(runId),
  };

  async function close(): Promise<void> {
    closed = true;
    const running = [...active.values()];
    for (const run of running) run.actor.send({ type: 'CANCEL', reason: 'runtime closed' });
    await Promise.all(running.map((run) => run.result));
    if (config.store === undefined && opening !== undefined)
      await (await opening.catch(() => undefined))?.close();
  }

  return { start, resume, recover, checkpoints, runs, close };
}
