import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Queue } from 'bullmq';
import { from, type Observable, switchMap, throwError } from 'rxjs';
import { z } from 'zod';
import { AgentchartError, runNotFound } from '../agentchart-error.js';
import { emptyUsage } from '../model/usage.js';
import { parseOptions } from '../parse-options.js';
import type { CheckpointEnvelope } from '../persistence/checkpoint-envelope.js';
import { runOfCheckpoint } from '../persistence/checkpoint-envelope.js';
import type { CheckpointStore } from '../persistence/checkpoint-store.js';
import { toRunError } from '../run-error.js';
import type { RunResult } from '../run-result.js';
import type { ResumeSource } from '../runtime/checkpoints/load-checkpoint.js';
import type { ForkModifications, ForkOptions } from '../runtime/history/fork-run.js';
import type { RunHandle } from '../runtime/run/run-handle.js';
import type { Runtime } from '../runtime/runtime.js';
import type { ClusterHost, RuntimeCluster } from '../runtime/runtime-cluster.js';
import {
  parseEventsArguments,
  parseResumeOptions,
  parseStartOptions,
  type ResumeOptions,
  type StartOptions,
} from '../runtime/runtime-config.js';
import { guarded } from '../streaming/guarded-observable.js';
import type { RunEvent } from '../streaming/run-event.js';
import { toAsyncIterable } from '../streaming/to-async-iterable.js';
import { clusterKeys, jobIdOf } from './cluster-keys.js';
import { type ClusterRedis, connectRedis, type RedisConnection } from './cluster-redis.js';
import { startClusterWorker } from './cluster-worker.js';
import { followClusterEvents } from './run-event-streams.js';
import type { ClusterControl, ClusterReply, RunJob, SerializedModifications } from './run-job.js';

/** What {@link bullmqCluster} takes. */
export interface BullmqClusterOptions {
  /** Redis: ioredis options, or a `redis://` URL. Redis must run with `maxmemory-policy noeviction`. */
  connection: RedisConnection;
  /** The BullMQ queue's name (default `agentchart`); one queue is one cluster. */
  queue?: string;
  /**
   * How long a worker's hold on a run lasts without renewal (BullMQ's `lockDuration`, default
   * 30,000 ms). A worker renews it while it runs; a killed worker's runs move on after this plus
   * `stalledIntervalMs`.
   */
  lockDurationMs?: number;
  /** How often workers look for runs whose worker stopped renewing (BullMQ's `stalledInterval`, default 30,000 ms). */
  stalledIntervalMs?: number;
  /** Entries kept per run's event stream (`XADD MAXLEN ~`, default 10,000); older ones are read from the store. */
  maxStreamLength?: number;
  /** How long a run's event stream stays after its end (default one hour). */
  streamTtlMs?: number;
}

const optionsSchema = z.strictObject({
  connection: z.union([
    z.string().regex(/^rediss?:\/\//, 'a redis:// URL'),
    z.record(z.string(), z.unknown()),
  ]),
  queue: z
    .string()
    .regex(/^[\w.-]{1,64}$/, 'queue must be 1 to 64 letters, digits, or _ . -')
    .optional(),
  lockDurationMs: z.number().int().min(500).optional(),
  stalledIntervalMs: z.number().int().min(200).optional(),
  maxStreamLength: z.number().int().positive().optional(),
  streamTtlMs: z.number().int().positive().optional(),
});

/** The resolved settings of a cluster. */
export interface ClusterSettings {
  queue: string;
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStreamLength: number;
  streamTtlMs: number;
}

/**
 * Runs execute on BullMQ workers over Redis, with a shared store (`postgresStore`) as the source
 * of truth, behind the same `Runtime` API:
 *
 * ```ts
 * const runtime = createRuntime({
 *   model,
 *   tools,
 *   store: await postgresStore({ connectionString }),
 *   cluster: bullmqCluster({ connection: 'redis://127.0.0.1:6379' }),
 * });
 * await runtime.work({ concurrency: 8 }); // in worker processes
 * const run = runtime.start({ input: 'Hi' }); // in any process: events, result and controls work here
 * ```
 *
 * `start`, `resume`, `fork`, `forkMany`, answers to parked runs and `recover` dispatch a job whose id
 * is the run's id. Workers hold runs while they execute them (BullMQ's lock is the heartbeat);
 * parked runs leave their worker. Pause, resume, cancel and answers reach the worker that holds the
 * run through a control list and channel on Redis. Events go through a Redis Stream per run.
 * Needs the `bullmq` and `ioredis` packages.
 */
export function bullmqCluster(options: BullmqClusterOptions): RuntimeCluster {
  parseOptions('bullmqCluster options', optionsSchema, options);
  const settings: ClusterSettings = {
    queue: options.queue ?? 'agentchart',
    lockDurationMs: options.lockDurationMs ?? 30_000,
    stalledIntervalMs: options.stalledIntervalMs ?? 30_000,
    maxStreamLength: options.maxStreamLength ?? 10_000,
    streamTtlMs: options.streamTtlMs ?? 3_600_000,
  };
  return {
    kind: 'agentchart-cluster',
    attach: (host) => createClusterRuntime(host, options.connection, settings),
  };
}

/** A dispatched run's handle in a process that does not execute it. */
function remoteHandle(
  runId: string,
  fromSeq: number,
  follow: (runId: string, fromSeq: number) => Observable<RunEvent>,
  controls: Pick<Runtime, 'pause' | 'cancel' | 'respond' | 'approve' | 'reject' | 'resume'>,
  /** Resolves with why the run was refused before it was dispatched, or undefined once it was. */
  refused: Promise<unknown> = Promise.resolve(undefined),
): RunHandle {
  // Followed once the run is dispatched (before, the cluster does not know it yet).
  const events$ = from(refused).pipe(
    switchMap((error) => (error === undefined ? follow(runId, fromSeq) : throwError(() => error))),
  );
  let result: Promise<RunResult> | undefined;
  const detached = () =>
    new AgentchartError({
      code: 'RUN_DETACHED',
      message: `Run '${runId}' executes on a worker of the cluster: its actor is in that process`,
      details: { runId },
    });
  return {
    id: runId,
    events$,
    started: refused.then(() => {}),
    // Followed only when asked for: a handle nobody awaits holds no connection.
    get result() {
      // Never rejects, as a local result: a run that cannot be followed ends as data.
      result ??= refused.then((error) =>
        error !== undefined
          ? refusedResult(runId, error)
          : new Promise<RunResult>((resolve) => {
              events$.subscribe({
                next: (event) => event.type === 'run-end' && resolve(event.result),
                error: (failure: unknown) => resolve(refusedResult(runId, failure)),
                complete: () =>
                  resolve(
                    refusedResult(
                      runId,
                      new AgentchartError({
                        code: 'RUN_ENDED',
                        message: `Run '${runId}' ended, and its end is no longer in its event log or stream`,
                        details: { runId },
                      }),
                    ),
                  ),
              });
            }),
      );
      return result;
    },
    get actor(): never {
      throw detached();
    },
    [Symbol.asyncIterator]: () => toAsyncIterable(events$)[Symbol.asyncIterator](),
    checkpoint: async () => {
      throw detached();
    },
    pause: () => controls.pause(runId),
    resume: async () => {
      await controls.resume(runId);
    },
    cancel: (reason) => controls.cancel(runId, reason),
    respond: async (requestId, value) => {
      await controls.respond(runId, requestId, value);
    },
    approve: async (requestId) => {
      await controls.approve(runId, requestId);
    },
    reject: async (requestId, reason) => {
      await controls.reject(runId, requestId, reason);
    },
    unload: async () => {
      // A cluster's parked runs leave their worker by themselves.
    },
  };
}

function createClusterRuntime(
  host: ClusterHost,
  connection: RedisConnection,
  settings: ClusterSettings,
): Runtime {
  const { local, config } = host;
  if (config.store === undefined) {
    throw new AgentchartError({
      code: 'INVALID_ARGUMENT',
      message:
        'A cluster needs a store that every process shares: createRuntime({ store: await postgresStore(…), cluster })',
    });
  }
  const store: CheckpointStore = config.store;
  const keys = clusterKeys(settings.queue);
  const clientId = randomUUID();
  let redis: ClusterRedis | undefined;
  let queue: Queue | undefined;
  let closed = false;
  const connect = () => {
    if (closed) throw new AgentchartError({ code: 'RUNTIME_CLOSED', message: 'The runtime is closed' });
    redis ??= connectRedis(connection);
    queue ??= new Queue(settings.queue, { connection: redis.options as never });
    return { redis, queue };
  };

  // Replies of workers to this process's requests, on a channel of its own.
  const waiting = new Map<string, { resolve(value: unknown): void; reject(error: Error): void }>();
  let listening: Promise<void> | undefined;
  const listen = () => {
    listening ??= (async () => {
      const { subscriber } = connect().redis;
      subscriber.on('message', (_channel: string, text: string) => {
        const reply = JSON.parse(text) as ClusterReply;
        const waiter = waiting.get(reply.id);
        if (waiter === undefined) return;
        waiting.delete(reply.id);
        if (reply.error === undefined) waiter.resolve(reply.value);
        else
          waiter.reject(new AgentchartError(reply.error as ConstructorParameters<typeof AgentchartError>[0]));
      });
      await subscriber.subscribe(keys.replyChannel(clientId));
    })();
    return listening;
  };
  /** Listens for the reply `id` (subscribed before the request goes out); `send` sends the request. */
  const replyTo = async (id: string, send: () => Promise<unknown>) => {
    await listen();
    const reply = new Promise<unknown>((resolve, reject) => waiting.set(id, { resolve, reject }));
    try {
      await send();
    } catch (error) {
      waiting.delete(id);
      throw error;
    }
    return reply;
  };

  const dispatch = async (job: RunJob, continuation?: string) => {
    const { redis, queue } = connect();
    await redis.client.set(keys.queued(job.runId), '1', 'PX', Math.max(settings.lockDurationMs * 4, 30_000));
    await queue.add('run', job, {
      jobId: jobIdOf(job.runId, continuation),
      removeOnComplete: true,
      removeOnFail: true,
    });
  };

  /** Dispatches a job and resolves once its worker says the run is live (or why it is not). */
  const request = async (job: RunJob) => {
    const id = randomUUID();
    return replyTo(id, () => dispatch({ ...job, reply: { to: clientId, id } }, id));
  };

  /** Sends a control to the worker that holds the run, or has a worker load it. */
  const control = async (runId: string, op: ClusterControl['op'], args: unknown[]) => {
    const record = await store.getRun(runId);
    const queued = record === undefined && (await connect().redis.client.exists(keys.queued(runId))) === 1;
    if (record === undefined && !queued) throw runNotFound(runId);
    const { redis } = connect();
    const id = randomUUID();
    const message: ClusterControl = { id, to: clientId, op, args };
    return replyTo(id, async () => {
      await redis.client.rpush(keys.controls(runId), JSON.stringify(message));
      const owner = await redis.client.get(keys.owner(runId));
      if (owner !== null) await redis.client.publish(keys.workerChannel(owner), runId);
      else await dispatch({ kind: 'continue', runId }, id);
    });
  };

  const follow = (runId: string, fromSeq: number) =>
    guarded(
      followClusterEvents({
        redis: connect().redis,
        keys,
        store: async () => store,
        // Dispatched and not stored yet: its marker, or its start job waiting in the queue.
        dispatched: async (id) =>
          (await connect().redis.client.exists(keys.queued(id))) === 1 ||
          (await connect().queue.getJob(jobIdOf(id))) !== undefined,
        runId,
        fromSeq,
      }),
    );

  /** The seq a new handle of a run that already has events starts at: the next one. */
  const nextSeq = async (runId: string) => {
    const { redis } = connect();
    const [last] = (await redis.client.xrevrange(keys.events(runId), '+', '-', 'COUNT', 1)) as [
      string,
      string[],
    ][];
    const fields = last?.[1] ?? [];
    const fromStream = Number(fields[fields.indexOf('seq') + 1] ?? -1);
    // Only what the store logged past the stream's newest entry (all of it, if the stream is gone).
    const logged = await store.readEvents(runId, fromStream + 1);
    const fromLog = logged.at(-1)?.event.seq ?? -1;
    return Math.max(fromStream, fromLog) + 1;
  };

  const controls: Pick<Runtime, 'pause' | 'cancel' | 'respond' | 'approve' | 'reject' | 'resume'> = {
    pause: async (runId) => {
      await control(runId, 'pause', []);
    },
    cancel: async (runId, reason) => control(runId, 'cancel', [reason]) as Promise<RunResult>,
    respond: async (runId, requestId, value) => {
      const from = await nextSeq(runId);
      await control(runId, 'respond', [requestId, value]);
      return remoteHandle(runId, from, follow, controls);
    },
    approve: async (runId, requestId) => {
      const from = await nextSeq(runId);
      await control(runId, 'approve', [requestId]);
      return remoteHandle(runId, from, follow, controls);
    },
    reject: async (runId, requestId, reason) => {
      const from = await nextSeq(runId);
      await control(runId, 'reject', [requestId, reason]);
      return remoteHandle(runId, from, follow, controls);
    },
    resume: (from, options) => resume(from, options),
  };

  function start(options: StartOptions): RunHandle {
    if (closed) throw new AgentchartError({ code: 'RUNTIME_CLOSED', message: 'The runtime is closed' });
    parseStartOptions(options);
    const runId = options.runId ?? `run_${randomUUID()}`;
    const dispatched = (async () => {
      if ((await store.getRun(runId)) !== undefined) {
        throw new AgentchartError({
          code: 'DUPLICATE_RUN_ID',
          message: `A run '${runId}' already exists in the store`,
          details: { runId },
        });
      }
      await dispatch({
        kind: 'start',
        runId,
        input: options.input,
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      });
    })();
    const signal = options.signal;
    const abort = () => void controls.cancel(runId, 'aborted').catch(() => {});
    if (signal !== undefined && 'addEventListener' in signal)
      signal.addEventListener('abort', abort, { once: true });
    // A run refused before it was dispatched ends at once, as a local one would: its result says why.
    const refused = dispatched.then(
      () => undefined,
      (error: unknown) => error,
    );
    return remoteHandle(runId, 0, follow, controls, refused);
  }

  async function resume(from: ResumeSource, options: ResumeOptions = {}): Promise<RunHandle> {
    parseResumeOptions(options);
    const { signal: _, ...rest } = options;
    let source: string | CheckpointEnvelope = from as string | CheckpointEnvelope;
    if (typeof from === 'string' && (from.endsWith('.json') || from.includes('/'))) {
      source = JSON.parse(await readFile(from, 'utf8')) as CheckpointEnvelope;
    }
    if (typeof source === 'string' && !source.includes('@')) {
      // A run id: a parked run resumes on a worker; a stored one continues from its latest checkpoint.
      const record = await store.getRun(source);
      if (record === undefined) throw runNotFound(source);
      if (options.runId === undefined) {
        const fromSeq = await nextSeq(source);
        if (record.status === 'paused' || record.status === 'waiting_input')
          await control(source, 'resume', []);
        else await request({ kind: 'resume', runId: source, from: source, options: rest });
        return remoteHandle(source, fromSeq, follow, controls);
      }
      source = record.headCheckpointId ?? source;
    }
    const envelope = typeof source === 'string' ? undefined : source;
    const checkpointId = typeof source === 'string' ? source : String(envelope?.id ?? '');
    const ofRun = envelope?.runId ?? runOfCheckpoint(checkpointId);
    const record = await store.getRun(ofRun);
    const continues =
      options.runId === undefined &&
      (record === undefined ? envelope !== undefined : record.headCheckpointId === checkpointId);
    const runId = options.runId ?? (continues ? ofRun : `run_${randomUUID()}`);
    const fromSeq = continues ? await nextSeq(runId) : 0;
    await request({
      kind: 'resume',
      runId,
      from: source,
      options: { ...rest, runId: continues ? undefined : runId },
    });
    return remoteHandle(runId, fromSeq, follow, controls);
  }

  async function fork(checkpointId: string, options: ForkOptions = {}): Promise<RunHandle> {
    const runId = options.runId ?? `run_${randomUUID()}`;
    await request({
      kind: 'fork',
      runId,
      checkpointId,
      ...(options.modifications === undefined
        ? {}
        : { modifications: serializeModifications(options.modifications) }),
      ...(options.description === undefined ? {} : { description: options.description }),
      ...(options.tags === undefined ? {} : { tags: options.tags }),
    });
    return remoteHandle(runId, 0, follow, controls);
  }

  let worker: Awaited<ReturnType<typeof startClusterWorker>> | undefined;

  return {
    ...local,
    start,
    resume,
    fork,
    forkMany: (checkpointId, branches) =>
      Promise.all(branches.map((modifications) => fork(checkpointId, { modifications }))),
    pause: controls.pause,
    cancel: controls.cancel,
    respond: controls.respond,
    approve: controls.approve,
    reject: controls.reject,
    events: (runId, options = {}) => {
      return follow(runId, parseEventsArguments(runId, options));
    },
    session: async () => {
      throw new AgentchartError({
        code: 'INVALID_ARGUMENT',
        message:
          'Sessions are not dispatched to a cluster yet: open them on a runtime without `cluster` (on the same store)',
      });
    },
    async status(runId) {
      const { redis, queue } = connect();
      const queued =
        (await redis.client.exists(keys.queued(runId))) === 1 ||
        (await queue.getJob(jobIdOf(runId))) !== undefined;
      if (queued && (await store.getRun(runId)) === undefined) {
        // Dispatched, not taken by a worker yet.
        return { runId, loaded: false, status: 'active', phase: 'plan', pendingRequests: [] };
      }
      const info = await local.status(runId);
      const owner = await connect().redis.client.get(keys.owner(runId));
      return { ...info, loaded: owner !== null };
    },
    async recover() {
      const { redis } = connect();
      const handles: RunHandle[] = [];
      for (const run of await store.listRuns({ status: ['active'] })) {
        if ((await redis.client.exists(keys.owner(run.runId))) === 1) continue;
        const fromSeq = await nextSeq(run.runId);
        await dispatch({ kind: 'continue', runId: run.runId }, randomUUID());
        handles.push(remoteHandle(run.runId, fromSeq, follow, controls));
      }
      return handles;
    },
    async work(options = {}) {
      if (worker !== undefined) return worker;
      const { redis } = connect();
      worker = await startClusterWorker({
        host,
        redis,
        keys,
        settings,
        store,
        options,
        dispatch,
        queue: connect().queue,
      });
      return worker;
    },
    async close() {
      if (closed) return;
      await worker?.close();
      closed = true;
      for (const waiter of waiting.values())
        waiter.reject(new AgentchartError({ code: 'RUNTIME_CLOSED', message: 'The runtime is closed' }));
      await queue?.close();
      await redis?.close();
      await local.close();
    },
  };
}

/** How a run refused at dispatch ends: failed, with the reason (as a local run refused by its store). */
function refusedResult(runId: string, error: unknown): RunResult {
  const duplicate = AgentchartError.isInstance(error) && error.code === 'DUPLICATE_RUN_ID';
  return {
    runId,
    status: 'failed',
    success: false,
    output: undefined,
    error: toRunError(error, duplicate ? 'invalid_request' : 'internal'),
    usage: { ...emptyUsage(), turns: 0, costUsd: 0 },
  };
}

/** Fork modifications as a job carries them: a model by its id, messages only as an array. */
function serializeModifications(modifications: ForkModifications): SerializedModifications {
  const { model, messages, ...rest } = modifications;
  if (typeof messages === 'function') {
    throw new AgentchartError({
      code: 'INVALID_ARGUMENT',
      message: 'A cluster forks on a worker: pass modifications.messages as an array, not a function',
    });
  }
  return {
    ...rest,
    ...(messages === undefined ? {} : { messages: [...messages] }),
    ...(model === undefined ? {} : { modelId: model.modelId }),
  };
}
