import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { type Job, type Queue, Worker } from 'bullmq';
import { AgentchartError } from '../agentchart-error.js';
import type { CheckpointStore } from '../persistence/checkpoint-store.js';
import type { RunHandle } from '../runtime/run/run-handle.js';
import type { ClusterHost, ClusterWorker, WorkOptions } from '../runtime/runtime-cluster.js';
import { unseen } from '../streaming/event-log.js';
import type { ClusterSettings } from './bullmq-cluster.js';
import { type ClusterKeys, jobIdOf } from './cluster-keys.js';
import type { ClusterRedis } from './cluster-redis.js';
import { resultOfCheckpoint } from './result-of-checkpoint.js';
import { createStreamWriter } from './run-event-streams.js';
import type { ClusterControl, ClusterReply, RunJob } from './run-job.js';

const terminal = new Set<string>(['done', 'failed', 'cancelled']);
const parked = new Set<string>(['paused', 'waiting_input']);

/**
 * A run a worker holds: the job that brought it, how to tell it of a control, of a copy of it that
 * went live here, and of a lost hold.
 */
interface HeldRun {
  jobId: string;
  /** Set once its job lets the run go: controls that come now are left to the run's next holder. */
  exiting: boolean;
  poke(): void;
  live(handle: RunHandle): void;
  lose(): void;
}

interface WorkerDependencies {
  host: ClusterHost;
  redis: ClusterRedis;
  keys: ClusterKeys;
  settings: ClusterSettings;
  store: CheckpointStore;
  options: WorkOptions;
  dispatch: (job: RunJob, continuation?: string) => Promise<void>;
  /** The queue, to put a job back (a worker shutting down, a run another worker holds). */
  queue: Queue;
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
  const { host, redis, keys, settings, store, options, dispatch, queue } = dependencies;
  const { local } = host;
  const workerId = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const concurrency = options.concurrency ?? 8;
  const ownerTtl = settings.lockDurationMs;
  /** The runs this worker holds: their handles once live, and the job that brought each. */
  const held = new Map<string, HeldRun>();
  /**
   * The owner epoch of each copy of a run that went live here, and who waits for it. By copy, not by
   * run: a run leaving here may be loaded again at once, and each copy's stream writes carry its own.
   */
  const epochOf = new WeakMap<RunHandle, number>();
  const epochWaiters = new WeakMap<RunHandle, ((epoch: number) => void)[]>();
  const stopLiveListener = host.onRunLive((runId, epoch) => {
    // The copy launched last: it is the one going live (a copy leaves before the next is loaded).
    const handle = host.liveHandle(runId);
    if (handle === undefined) return;
    epochOf.set(handle, epoch);
    for (const waiter of epochWaiters.get(handle) ?? []) waiter(epoch);
    epochWaiters.delete(handle);
    // Whichever path loaded it (the job, a control, a control forwarded by a copy that was leaving),
    // the job that holds the run watches this copy.
    held.get(runId)?.live(handle);
  });
  /** Calls `waiter` with the owner epoch of this copy of a run once it is live here (at once if it is). */
  const whenLive = (handle: RunHandle, waiter: (epoch: number) => void) => {
    const known = epochOf.get(handle);
    if (known !== undefined) return waiter(known);
    epochWaiters.set(handle, [...(epochWaiters.get(handle) ?? []), waiter]);
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
    // Letting it go: its job looks at the controls once more when it has (and dispatches them).
    if (run?.exiting === true) return;
    if (run !== undefined) run.poke();
    // Not here (any more): another worker takes the run up, with its controls.
    else void dispatch({ kind: 'continue', runId }, randomUUID()).catch(() => {});
  });
  await subscriber.subscribe(keys.workerChannel(workerId));

  /**
   * Applies one control to a run here. Resolves once it is applied, with what its caller is
   * answered, or with `later`, what resolves with it (a cancel: once the run has ended).
   */
  const applyControl = async (
    runId: string,
    control: ClusterControl,
    touched: (handle: RunHandle) => void,
  ): Promise<{ value?: unknown; later?: Promise<unknown> }> => {
    const [first, second] = control.args as [string, unknown];
    switch (control.op) {
      case 'pause': {
        const live = host.liveHandle(runId);
        if (live !== undefined) {
          await live.pause();
          return {};
        }
        const record = await store.getRun(runId);
        if (record !== undefined && terminal.has(record.status)) await local.pause(runId);
        // A parked run stays parked (waiting for input is a pause of its own).
        else if (record?.status === 'active') {
          const loaded = await host.load(runId);
          touched(loaded);
          await loaded.pause();
        }
        return {};
      }
      case 'resume': {
        const live = host.liveHandle(runId) ?? (await host.load(runId));
        touched(live);
        await live.resume();
        return {};
      }
      case 'cancel': {
        const record = await store.getRun(runId);
        // Applied again after the run ended (its worker died before it answered): the run's result.
        if (control.again === true && record !== undefined && terminal.has(record.status)) {
          const head =
            record.headCheckpointId === null ? undefined : await store.getCheckpoint(record.headCheckpointId);
          if (head !== undefined) return { value: resultOfCheckpoint(runId, head) };
        }
        if (record !== undefined && !terminal.has(record.status)) touched(await host.load(runId));
        // The result comes once the run has ended (the job watches it meanwhile).
        return { later: local.cancel(runId, first) };
      }
      case 'respond':
        touched(await local.respond(runId, first, second));
        return {};
      case 'approve':
        touched(await local.approve(runId, first));
        return {};
      case 'reject':
        touched(await local.reject(runId, first, second as string | undefined));
        return {};
    }
  };

  /**
   * Applies the controls waiting for a run, in order, as the local runtime would (a run that ended
   * refuses a pause; a parked run is loaded for an answer, a resume or a cancel). A run that a
   * control loads stays live here: the job's loop finds it with `liveHandle` and watches it.
   *
   * A control moves to the run's `applying` list as it is taken, and leaves it only once its effect
   * is in the run's checkpoints and its caller has been answered: a worker that dies in between
   * leaves it to the next holder of the run, which applies it again (`again`). So does a worker
   * that lost the run or shuts down: it answers nothing and gives the control back. An answer
   * applied again that finds its request gone was applied before: it is answered as done; a cancel
   * applied again to a run that ended, with the run's result. A cancel is answered, and done with,
   * once the run has ended; the controls after it do not wait for that. Only the worker that holds
   * the run takes its controls.
   */
  const drainControls = async (
    runId: string,
    job: { touched(handle: RunHandle): void; lost(): boolean },
  ): Promise<void> => {
    const gone = () => closing || job.lost();
    for (;;) {
      if (gone()) return;
      const text = await redis.client.agentchartTakeControl(
        keys.owner(runId),
        keys.controls(runId),
        keys.applying(runId),
        workerId,
      );
      if (text === null) return;
      let control: ClusterControl;
      try {
        control = JSON.parse(text) as ClusterControl;
      } catch {
        // Not a control of ours: dropped, rather than refused by every holder of the run for ever.
        await redis.client.lrem(keys.applying(runId), 1, text);
        continue;
      }
      const done = async (body: Omit<ClusterReply, 'id'>) => {
        if (gone()) {
          await redis.client
            .agentchartGiveBackControl(keys.applying(runId), keys.controls(runId), text)
            .catch(() => {});
          return;
        }
        await reply({ to: control.to, id: control.id }, body);
        await redis.client.lrem(keys.applying(runId), 1, text).catch(() => {});
      };
      let applied: { value?: unknown; later?: Promise<unknown> } = {};
      let outcome: Promise<unknown>;
      try {
        applied = await applyControl(runId, control, job.touched);
        outcome = applied.later ?? Promise.resolve(applied.value);
      } catch (error) {
        outcome = Promise.reject(error);
      }
      const durable = outcome.then(async (value) => {
        await host.checkpointsFlushed(runId);
        return value;
      });
      const answered = durable.then(
        (value) => done(value === undefined ? {} : { value }),
        (error: unknown) => {
          const appliedBefore =
            control.again === true &&
            ['respond', 'approve', 'reject'].includes(control.op) &&
            AgentchartError.isInstance(error) &&
            error.code === 'REQUEST_NOT_FOUND';
          return done(appliedBefore ? {} : { error: replyError(error) });
        },
      );
      if (applied.later === undefined) await answered;
    }
  };

  /** Whether `from` (a checkpoint id or an envelope) names the run's head now. */
  const namesHead = (from: string | { id?: unknown }, headCheckpointId: string | null) =>
    (typeof from === 'string' ? from : String(from.id)) === headCheckpointId;

  /** The run's live handle for what the job asks, or undefined if it has nothing to execute (parked, ended). */
  const obtain = async (job: RunJob): Promise<RunHandle | undefined> => {
    const record = await store.getRun(job.runId);
    const continueWhereItIs = () => {
      if (record === undefined || terminal.has(record.status) || parked.has(record.status)) return undefined;
      return host.load(job.runId);
    };
    switch (job.kind) {
      case 'start':
        // Delivered again after the run was made: it continues where it is.
        if (record !== undefined) return continueWhereItIs();
        return local.start({
          input: job.input,
          runId: job.runId,
          ...(job.timeoutMs === undefined ? {} : { timeoutMs: job.timeoutMs }),
        });
      case 'fork': {
        if (record !== undefined) return continueWhereItIs();
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
        if (record !== undefined) {
          // A new run made by an earlier delivery, or a run that moved past the checkpoint it was
          // resumed from (resuming that again would fork it): it continues where it is.
          if (newRunId !== undefined) return continueWhereItIs();
          if (job.from !== job.runId && !namesHead(job.from, record.headCheckpointId))
            return continueWhereItIs();
          if (job.from === job.runId && !terminal.has(record.status)) return continueWhereItIs();
        }
        return local.resume(job.from, { ...rest, ...(newRunId === undefined ? {} : { runId: newRunId }) });
      }
      case 'continue':
        return undefined;
    }
  };

  /**
   * Writes a live run's events to its stream until it leaves this worker (it ended, parked, was
   * handed back or stopped), then its tail from the store's event log once that is flushed, so that
   * the stream has every event the run logged here, its end included.
   */
  const watch = async (runId: string, handle: RunHandle, lost: () => boolean) => {
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
    whenLive(handle, (epoch) => void writer.claim(epoch));
    const result = await handle.result;
    subscription.unsubscribe();
    epochWaiters.delete(handle);
    const ended = terminal.has(result.status) && result.error?.recoverable !== true;
    if (!lost()) {
      await host.eventsFlushed();
      const cursor = { seq: writer.lastSeq() };
      for (const stored of await store.readEvents(runId, cursor.seq + 1)) {
        // A block the store coalesced, part of which went out: only the rest of its text.
        const event = unseen(stored, cursor);
        if (event !== undefined) writer.write(event);
        cursor.seq = Math.max(cursor.seq, stored.event.seq);
      }
    }
    await writer.finish(ended, settings.streamTtlMs);
    const handedBack = result.status === 'cancelled' && result.error?.recoverable === true;
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

  /** Puts a job back in the queue under a new id, to run after `delayMs` (the run's holder lets go, or another worker takes it). */
  const again = (data: RunJob, delayMs = 0) =>
    queue.add('run', data, {
      jobId: jobIdOf(data.runId, randomUUID()),
      delay: delayMs,
      removeOnComplete: true,
      removeOnFail: true,
    });

  const processJob = async (job: Job<RunJob>) => {
    const data = job.data;
    const { runId } = data;
    if (closing) {
      await again(data);
      return;
    }
    if (!(await take(runId, job))) {
      // Another worker holds the run. Its controls reach it; anything else waits until it lets go.
      const owner = await redis.client.get(keys.owner(runId));
      if (owner !== null) await redis.client.publish(keys.workerChannel(owner), runId);
      if (data.kind === 'continue') {
        if (owner === null) await dispatch({ kind: 'continue', runId }, randomUUID());
        await reply(data.reply, {});
      } else await again(data, Math.max(await redis.client.pttl(keys.owner(runId)), 50));
      return;
    }
    // What a previous holder took and was not done with is applied again, before what came after.
    await redis.client.agentchartRequeueControls(keys.applying(runId), keys.controls(runId));
    // Controls are applied one drain at a time, whoever asks (a poke, the job's loop, the backstop):
    // a drain may load the run again, and the loop must see that before it lets the run go.
    /** The copies of the run this job has watched: each copy is watched once. */
    const seen = new WeakSet<RunHandle>();
    /** The handle to watch next: the one the job made, or a copy that went live here since. */
    let next: RunHandle | undefined;
    const touched = (handle: RunHandle) => {
      if (!seen.has(handle)) next = handle;
    };
    let draining: Promise<void> = Promise.resolve();
    const drain = () => {
      draining = draining.then(() => drainControls(runId, { touched, lost: () => lost })).catch(() => {});
      return draining;
    };
    const wake = () => {
      if (!entry.exiting) void drain();
    };
    /** Resolves once no drain is in flight, including ones that start while it waits. */
    const drainsSettled = async () => {
      for (let current = draining; ; current = draining) {
        await current;
        if (current === draining) return;
      }
    };
    let lost = false;
    const entry: HeldRun = {
      jobId: job.id ?? '',
      exiting: false,
      poke: () => wake(),
      live: touched,
      lose: () => {
        lost = true;
      },
    };
    held.set(runId, entry);
    const renew = setInterval(
      () => {
        void redis.client.agentchartRenewOwner(keys.owner(runId), workerId, ownerTtl).catch(() => {});
        // A backstop for a poke that was lost (pub/sub delivers at most once).
        void redis.client
          .llen(keys.controls(runId))
          .then((length) => length > 0 && wake())
          .catch(() => {});
      },
      Math.max(ownerTtl / 3, 100),
    );
    try {
      if (data.kind === 'continue' && (await store.getRun(runId)) === undefined) {
        // Not made yet: its start job brings it, and applies its controls then.
        await reply(data.reply, {});
        return;
      }
      try {
        const handle = await obtain(data);
        next = handle;
        // Stored (live), or refused: either way readers find it in the store from now on.
        if (handle !== undefined)
          await Promise.race([
            new Promise<void>((resolve) => whenLive(handle, () => resolve())),
            handle.result,
          ]);
        await reply(data.reply, {});
      } catch (error) {
        if (closing && AgentchartError.isInstance(error) && error.code === 'RUNTIME_CLOSED') {
          await again(data);
          return;
        }
        await reply(data.reply, { error: replyError(error) });
      }
      await redis.client.del(keys.queued(runId));
      for (;;) {
        if (lost) return;
        await drain();
        let live = next ?? host.liveHandle(runId);
        next = undefined;
        if (live !== undefined && seen.has(live)) live = undefined;
        if (live === undefined && !closing) {
          // Moving, and nobody executes it (its worker died or shut down, or its job was lost).
          const record = await store.getRun(runId);
          if (record?.status === 'active') live = await host.load(runId);
        }
        if (live === undefined) {
          await drainsSettled();
          if (next !== undefined) continue;
          if (!closing && (await redis.client.llen(keys.controls(runId))) > 0) continue;
          // Letting it go: no drain starts now, and one that started while we looked is waited for.
          entry.exiting = true;
          await drainsSettled();
          if (next === undefined) return;
          entry.exiting = false;
          continue;
        }
        seen.add(live);
        const { handedBack } = await watch(runId, live, () => lost);
        // A drain in flight may have loaded the run again: the loop looks at it next.
        await draining;
        if (lost) return;
        if (handedBack || closing) {
          // Shut down with its checkpoints written: another worker continues it at once.
          const record = await store.getRun(runId);
          if (record !== undefined && !terminal.has(record.status) && !parked.has(record.status)) {
            await redis.client.agentchartReleaseOwner(keys.owner(runId), workerId);
            await dispatch({ kind: 'continue', runId }, randomUUID());
          }
          return;
        }
      }
    } finally {
      clearInterval(renew);
      // A job of this run that BullMQ gave this worker again meanwhile holds it now.
      if (held.get(runId) === entry) held.delete(runId);
      if (!lost) {
        await redis.client.agentchartReleaseOwner(keys.owner(runId), workerId).catch(() => {});
        // A control that came after the last look (its poke found the run still held here).
        if ((await redis.client.llen(keys.controls(runId)).catch(() => 0)) > 0)
          await dispatch({ kind: 'continue', runId }, randomUUID()).catch(() => {});
      }
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
    for (const [runId, entry] of held) {
      if (!jobIds.includes(entry.jobId)) continue;
      entry.lose();
      stopLocal(runId, 'lock lost');
    }
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
        // One watchdog job per run at a time, whichever worker's watchdog adds it.
        if (owner === 0 && queued === 0) await dispatch({ kind: 'continue', runId: run.runId }, 'watchdog');
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
  // On a signal: hand the runs back, then let the signal do what it does by default (end the process).
  const onSignal = (signal: NodeJS.Signals) =>
    void close().finally(() => {
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  for (const signal of signals) process.once(signal, onSignal);

  return {
    id: workerId,
    running: () => [...held.keys()],
    close,
  };
}
