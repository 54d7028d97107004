import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { type Job, Worker } from 'bullmq';
import { AgentchartError } from '../agentchart-error.js';
import type { CheckpointStore } from '../persistence/checkpoint-store.js';
import type { RunHandle } from '../runtime/run/run-handle.js';
import type { ClusterHost, ClusterWorker, WorkOptions } from '../runtime/runtime-cluster.js';
import type { ClusterSettings } from './bullmq-cluster.js';
import type { ClusterKeys } from './cluster-keys.js';
import type { ClusterRedis } from './cluster-redis.js';
import { createStreamWriter } from './run-event-streams.js';
import type { ClusterControl, ClusterReply, RunJob } from './run-job.js';

const terminal = new Set<string>(['done', 'failed', 'cancelled']);
const parked = new Set<string>(['paused', 'waiting_input']);

interface WorkerDependencies {
  host: ClusterHost;
  redis: ClusterRedis;
  keys: ClusterKeys;
  settings: ClusterSettings;
  store: CheckpointStore;
  options: WorkOptions;
  dispatch: (job: RunJob, continuation?: string) => Promise<void>;
}

/** An error as a reply carries it. */
function replyError(error: unknown): NonNullable<ClusterReply['error']> {
  if (AgentchartError.isInstance(error))
    return { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) };
  return { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

/**
 * A worker: takes run jobs from the queue and executes them in this process's local runtime, from
 * the shared store. While it executes a run it holds the run's owner key (renewed with BullMQ's
 * lock) and writes the run's events to its stream, fenced by the run's owner epoch. A run that
 * parks leaves the worker and its slot. Controls reach it through the run's control list, announced
 * on this worker's channel. When BullMQ says the lock of a job was lost, the run is stopped here at
 * once (another worker has it, and fencing refuses this one's writes anyway).
 */
export async function startClusterWorker(dependencies: WorkerDependencies): Promise<ClusterWorker> {
  const { host, redis, keys, settings, store, options, dispatch } = dependencies;
  const { local } = host;
  const workerId = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const concurrency = options.concurrency ?? 8;
  const ownerTtl = settings.lockDurationMs;
  /** The runs this worker holds: their handles once live, and the job that brought each. */
  const held = new Map<string, { handle?: RunHandle | undefined; jobId: string; poke(): void }>();
  const epochs = new Map<string, number>();
  const liveListeners = new Map<string, Set<(epoch: number) => void>>();
  const stopLiveListener = host.onRunLive((runId, epoch) => {
    epochs.set(runId, epoch);
    for (const listener of liveListeners.get(runId) ?? []) listener(epoch);
  });
  /** Calls `listener` with the run's epoch once it is live here (at once if it is). */
  const whenLive = (runId: string, listener: (epoch: number) => void) => {
    const known = epochs.get(runId);
    if (known !== undefined) return listener(known);
    const listeners = liveListeners.get(runId) ?? new Set();
    listeners.add(listener);
    liveListeners.set(runId, listeners);
  };
  let closing = false;

  const reply = async (to: { to: string; id: string } | undefined, body: Omit<ClusterReply, 'id'>) => {
    if (to === undefined) return;
    await redis.client
      .publish(keys.replyChannel(to.to), JSON.stringify({ id: to.id, ...body }))
      .catch(() => {});
  };
  const stopLocal = (runId: string, reason: string) => {
    local.supervisor.send({ type: 'RUN.STOP', runId, reason });
  };

  // Pokes: a control waits in the list of a run; the worker that holds the run applies it.
  const subscriber = redis.blocking();
  subscriber.on('message', (_channel: string, runId: string) => {
    const run = held.get(runId);
    if (run !== undefined) run.poke();
    // Not here (any more): another worker takes the run up, with its controls.
    else void dispatch({ kind: 'continue', runId }, randomUUID()).catch(() => {});
  });
  await subscriber.subscribe(keys.workerChannel(workerId));

  /** Applies the controls waiting for a run, in order; returns the run's live handle, if it has one after them. */
  const drainControls = async (runId: string): Promise<RunHandle | undefined> => {
    let handle: RunHandle | undefined;
    for (;;) {
      const text = await redis.client.lpop(keys.controls(runId));
      if (text === null) return handle;
      const control = JSON.parse(text) as ClusterControl;
      const address = { to: control.to, id: control.id };
      try {
        const [first, second] = control.args as [string, unknown];
        switch (control.op) {
          case 'pause': {
            const live = await host.load(runId);
            await live.pause();
            handle = live;
            await reply(address, {});
            break;
          }
          case 'resume': {
            const live = await host.load(runId);
            await live.resume();
            handle = live;
            await reply(address, {});
            break;
          }
          case 'cancel': {
            // The result comes once the run has ended; the worker writes its end meanwhile.
            const live = await host.load(runId);
            handle = live;
            void live.cancel(first).then(
              (result) => reply(address, { value: result }),
              (error: unknown) => reply(address, { error: replyError(error) }),
            );
            break;
          }
          case 'respond':
            handle = await local.respond(runId, first, second);
            await reply(address, {});
            break;
          case 'approve':
            handle = await local.approve(runId, first);
            await reply(address, {});
            break;
          case 'reject':
            handle = await local.reject(runId, first, second as string | undefined);
            await reply(address, {});
            break;
        }
      } catch (error) {
        await reply(address, { error: replyError(error) });
      }
    }
  };

  /** The run's live handle for what the job asks, or undefined if it has nothing to execute (parked, ended). */
  const obtain = async (job: RunJob): Promise<RunHandle | undefined> => {
    const record = await store.getRun(job.runId);
    if (record !== undefined && job.kind !== 'resume') {
      if (terminal.has(record.status) || parked.has(record.status)) return undefined;
      return local.resume(job.runId);
    }
    switch (job.kind) {
      case 'start':
        return local.start({
          input: job.input,
          runId: job.runId,
          ...(job.timeoutMs === undefined ? {} : { timeoutMs: job.timeoutMs }),
        });
      case 'fork': {
        const { modifications, description, tags, checkpointId } = job;
        const { modelId, ...rest } = modifications ?? {};
        const model =
          modelId === undefined
            ? undefined
            : [...(host.config.models ?? []), host.config.model].find(
                (candidate) => candidate.modelId === modelId,
              );
        if (modelId !== undefined && model === undefined) {
          throw new AgentchartError({
            code: 'INVALID_ARGUMENT',
            message: `The worker has no model '${modelId}' (createRuntime({ models }))`,
          });
        }
        return local.fork(checkpointId, {
          runId: job.runId,
          modifications: { ...rest, ...(model === undefined ? {} : { model }) },
          ...(description === undefined ? {} : { description }),
          ...(tags === undefined ? {} : { tags }),
        });
      }
      case 'resume': {
        const { runId: newRunId, ...rest } = job.options;
        // Delivered again after the run was made: it continues where it is.
        if (record !== undefined && newRunId !== undefined) {
          if (terminal.has(record.status) || parked.has(record.status)) return undefined;
          return local.resume(job.runId);
        }
        return local.resume(job.from, { ...rest, ...(newRunId === undefined ? {} : { runId: newRunId }) });
      }
      case 'continue':
        return undefined;
    }
  };

  /** Writes a live run's events to its stream until it leaves this worker; resolves with whether it ended. */
  const watch = async (
    runId: string,
    handle: RunHandle,
  ): Promise<{ ended: boolean; handedBack: boolean }> => {
    const writer = createStreamWriter({
      redis,
      keys,
      runId,
      maxLen: settings.maxStreamLength,
      onFenced: () => stopLocal(runId, 'taken over by another worker'),
    });
    const [last] = (await redis.client
      .xrevrange(keys.events(runId), '+', '-', 'COUNT', 1)
      .catch(() => [])) as [string, string[]][];
    const fields = last?.[1] ?? [];
    const fromSeq = Number(fields[fields.indexOf('seq') + 1] ?? -1) + 1;
    // From the run's own event log: nothing emitted before this subscription is missed.
    const subscription = local
      .events(runId, { fromSeq })
      .subscribe({ next: (event) => writer.write(event), error: () => {} });
    whenLive(runId, (epoch) => void writer.claim(epoch));
    const result = await handle.result;
    // Events of the end reach the subscription in the same turn; let them through.
    await new Promise((resolve) => setImmediate(resolve));
    subscription.unsubscribe();
    liveListeners.delete(runId);
    epochs.delete(runId);
    const ended = terminal.has(result.status) && result.error?.recoverable !== true;
    await writer.finish(ended, settings.streamTtlMs);
    const handedBack = result.error?.recoverable === true && result.status === 'cancelled';
    return { ended, handedBack };
  };

  /** Takes a run; a run whose last worker was killed may still show its hold for a moment. */
  const take = async (runId: string, job: Job): Promise<boolean> => {
    for (let attempt = 0; attempt < 2; attempt++) {
      if ((await redis.client.agentchartTakeOwner(keys.owner(runId), workerId, ownerTtl)) === 1) return true;
      if (job.stalledCounter === 0 && job.attemptsStarted <= 1) break;
      const left = await redis.client.pttl(keys.owner(runId));
      await new Promise((resolve) => setTimeout(resolve, Math.max(left, 0) + 20));
    }
    return false;
  };

  const processJob = async (job: Job<RunJob>) => {
    const data = job.data;
    const { runId } = data;
    if (!(await take(runId, job))) {
      // Another worker holds the run: it hears of the job's controls.
      const owner = await redis.client.get(keys.owner(runId));
      if (owner !== null) await redis.client.publish(keys.workerChannel(owner), runId);
      else await dispatch({ kind: 'continue', runId }, randomUUID());
      await reply(data.reply, {});
      return;
    }
    let wake: () => void = () => {};
    const entry: { handle?: RunHandle | undefined; jobId: string; poke(): void } = {
      jobId: job.id ?? '',
      poke: () => wake(),
    };
    held.set(runId, entry);
    const renew = setInterval(
      () => void redis.client.agentchartRenewOwner(keys.owner(runId), workerId, ownerTtl).catch(() => {}),
      Math.max(ownerTtl / 3, 100),
    );
    try {
      let first = true;
      for (;;) {
        let handle: RunHandle | undefined;
        if (first) {
          try {
            handle = await obtain(data);
            // Stored (live), or refused: either way readers find it in the store from now on.
            const live = handle;
            if (live !== undefined)
              await Promise.race([
                new Promise<void>((resolve) => whenLive(runId, () => resolve())),
                live.result,
              ]);
            await reply(data.reply, {});
          } catch (error) {
            await reply(data.reply, { error: replyError(error) });
          }
          // In the store now (or refused): readers find it there.
          await redis.client.del(keys.queued(runId));
          first = false;
        }
        // Controls are applied where the run is, as they come (a poke wakes the loop below).
        const drained = await drainControls(runId);
        handle ??= drained;
        if (handle === undefined) {
          // Moving, and nobody executes it (its worker died or shut down, or its job was lost).
          const record = await store.getRun(runId);
          if (record?.status === 'active') handle = await host.load(runId);
        }
        if (handle === undefined) {
          if ((await redis.client.llen(keys.controls(runId))) > 0) continue;
          return;
        }
        entry.handle = handle;
        wake = () => void drainControls(runId).catch(() => {});
        const { handedBack } = await watch(runId, handle);
        wake = () => {};
        entry.handle = undefined;
        if (handedBack || closing) {
          // Shut down with its checkpoints written: another worker continues it at once.
          await redis.client.agentchartReleaseOwner(keys.owner(runId), workerId);
          const record = await store.getRun(runId);
          if (record !== undefined && !terminal.has(record.status) && !parked.has(record.status))
            await dispatch({ kind: 'continue', runId }, randomUUID());
          return;
        }
        if ((await redis.client.llen(keys.controls(runId))) > 0) continue;
        return;
      }
    } finally {
      clearInterval(renew);
      held.delete(runId);
      await redis.client.agentchartReleaseOwner(keys.owner(runId), workerId).catch(() => {});
    }
  };

  const worker = new Worker<RunJob>(settings.queue, processJob, {
    connection: redis.options as never,
    concurrency,
    lockDuration: settings.lockDurationMs,
    stalledInterval: settings.stalledIntervalMs,
    // Runs are resumable from their checkpoints: a run whose worker died is never given up.
    maxStalledCount: Number.MAX_SAFE_INTEGER,
  });
  worker.on('error', () => {
    // Connection errors while Redis restarts: BullMQ retries.
  });
  worker.on('lockRenewalFailed', (jobIds: string[]) => {
    for (const [runId, entry] of held) if (jobIds.includes(entry.jobId)) stopLocal(runId, 'lock lost');
  });

  // The watchdog: runs marked active that no worker holds and no job brings are dispatched again
  // (their job was lost, or their worker died between its job and the next).
  const watchdog = setInterval(() => {
    void (async () => {
      for (const run of await store.listRuns({ status: ['active'] })) {
        const [owner, queued] = await Promise.all([
          redis.client.exists(keys.owner(run.runId)),
          redis.client.exists(keys.queued(run.runId)),
        ]);
        if (owner === 0 && queued === 0) await dispatch({ kind: 'continue', runId: run.runId }, randomUUID());
      }
    })().catch(() => {});
  }, settings.stalledIntervalMs);

  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      closing = true;
      clearInterval(watchdog);
      for (const signal of signals) process.off(signal, onSignal);
      const stopping = worker.close();
      // Live runs leave with their checkpoints written; each job then hands its run back.
      await local.close();
      await stopping;
      stopLiveListener();
      await subscriber.quit().catch(() => subscriber.disconnect());
    })();
    return closed;
  };
  const signals = options.shutdownSignals ?? ['SIGTERM', 'SIGINT'];
  const onSignal = () => void close();
  for (const signal of signals) process.once(signal, onSignal);

  return {
    id: workerId,
    running: () => [...held.keys()],
    close,
  };
}
