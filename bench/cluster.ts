/**
 * bench/cluster: what running on BullMQ workers costs and gives, with real worker processes
 * (bench/lib/queue-consumer.ts) on the local Redis and PostgreSQL.
 *
 * - Dispatch cost: the time from `start` to the result of a 1-turn run with no model latency, on a
 *   cluster (one worker process) and in this process without one, both on the Postgres store, run
 *   alternately (after untimed runs); the overhead per run is the difference of the medians.
 * - Throughput: runs per second with 1 and with 2 worker processes at a fixed concurrency per worker,
 *   for I/O-bound runs (5 turns, the model 50 ms per turn, a 20 ms tool on each of the first 4), 12
 *   runs per slot started at once, after untimed runs. Target: at least 1.8x with 2 workers. Measured
 *   at concurrency 2, where one worker's runs wait on I/O, and at 8, where on a 2-core machine one
 *   worker already takes most of a core (the workers, this process, Redis and Postgres share them).
 * - Takeover latency: two workers with lockDurationMs 1500 and stalledIntervalMs 500 execute 40-turn
 *   runs; the one holding most of them is killed with SIGKILL and a new one started, 10 times. The
 *   latency of a kill is the time from the kill to the first event the other worker writes for the
 *   last of the killed worker's runs to move (its `run-start` resumed from a checkpoint), as this
 *   process sees it through `runtime.events`. Target: max under 5 s.
 *
 * Fresh schema and queues per bench run; the schema and the queues' Redis keys are removed at the end.
 * Prints one JSON line per figure, then a markdown table.
 *
 *   npx tsx --conditions=agentchart-source bench/cluster.ts   (also part of npm run bench)
 */
import { type ChildProcess, fork } from 'node:child_process';
import { openStore, type RunEvent, type RunHandle, type RunResult, type Runtime } from 'agentchart';
import { Redis } from 'ioredis';
import pg from 'pg';
import { benchRuntime, type ClusterWorkload, turnsOfWorkload } from './lib/cluster-workload.js';

const postgresUrl = process.env.AGENTCHART_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const tag = `${process.pid}_${Date.now() % 1e8}`;
const schema = `agentchart_bench_cluster_${tag}`;
const storeUrl = `${postgresUrl}?schema=${schema}`;
const queues = {
  dispatch: `bench-dispatch-${tag}`,
  throughput2: `bench-throughput2-${tag}`,
  throughput8: `bench-throughput8-${tag}`,
  takeover: `bench-takeover-${tag}`,
};
const takeoverSettings = { lockDurationMs: 1500, stalledIntervalMs: 500 };
/** The concurrency per worker of the dispatch and takeover phases. */
const concurrency = 8;
/** The concurrencies per worker the throughput is measured at. */
const throughputConcurrencies = [2, 8] as const;

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
};
const print = (line: Record<string, unknown>) => console.log(JSON.stringify({ bench: 'cluster', ...line }));

/** Why the bench cannot run here (no Redis or no Postgres), or undefined. */
async function unavailable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
  } catch (error) {
    return `PostgreSQL at ${postgresUrl} is unreachable (${(error as Error).message})`;
  } finally {
    await client.end().catch(() => {});
  }
  const redis = new Redis(redisUrl, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0 });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    return `Redis at ${redisUrl} is unreachable (${(error as Error).message})`;
  } finally {
    redis.disconnect();
  }
  return undefined;
}

/** A worker process, and the runs it last said it holds. */
interface WorkerProcess {
  child: ChildProcess;
  running: Set<string>;
  exited: Promise<void>;
}

async function startWorker(queue: string, tuned = false, slots = concurrency): Promise<WorkerProcess> {
  const settings = { storeUrl, redisUrl, queue, concurrency: slots, ...(tuned ? takeoverSettings : {}) };
  const child = fork(new URL('./lib/queue-consumer.ts', import.meta.url).pathname, [], {
    execArgv: ['--import', 'tsx', '--conditions=agentchart-source'],
    // Not in argv: a command line naming bench schemas is what other people's clean-ups may match.
    env: { ...process.env, BENCH_CLUSTER_SETTINGS: JSON.stringify(settings) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  started.push(child);
  const worker: WorkerProcess = {
    child,
    running: new Set(),
    exited: new Promise((resolve) => child.once('exit', () => resolve())),
  };
  child.once('exit', (code, signal) => {
    if (!stopping.has(child)) console.error(`a worker exited unasked (${signal ?? code})`);
  });
  await new Promise<void>((resolve, reject) => {
    child.on('message', (message: { type: string; runs?: string[] }) => {
      if (message.type === 'ready') resolve();
      if (message.type === 'running') worker.running = new Set(message.runs);
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`a worker exited before it was ready (${signal ?? code})`)),
    );
  });
  return worker;
}

/** Workers this process stopped or killed: any other exit is reported. */
const stopping = new Set<ChildProcess>();
/** Every worker started, killed at the end if still there (after a failure). */
const started: ChildProcess[] = [];

async function stopWorker(worker: WorkerProcess): Promise<void> {
  stopping.add(worker.child);
  if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGTERM');
  await worker.exited;
}

/** How often a handle's result failed with RUN_NOT_FOUND for a run that was dispatched (a core race, reported). */
let resultRaces = 0;

/**
 * A run's result, as its handle gives it; when that fails with RUN_NOT_FOUND (a race in the core:
 * the follower read the store before the worker stored the run, and the queue after the worker
 * cleared its queued mark), followed again by id, as a client would. The time of that retry is in
 * the figures.
 */
async function resultOf(runtime: Runtime, handle: RunHandle): Promise<RunResult> {
  try {
    return await handle.result;
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'RUN_NOT_FOUND') throw error;
    resultRaces++;
    return new Promise((resolve, reject) => {
      runtime.events(handle.id).subscribe({
        next: (event) => event.type === 'run-end' && resolve(event.result),
        error: reject,
      });
    });
  }
}

/** Starts a run and waits for its result; throws unless it is done with the workload's turns. */
async function runOne(runtime: Runtime, workload: ClusterWorkload): Promise<RunResult> {
  const handle = runtime.start({ input: workload });
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([
    resultOf(runtime, handle),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // Where the run is, for the report: ended in the store but not followed, or never ended.
        void runtime.status(handle.id).then(
          (status) =>
            reject(
              new Error(
                `run ${handle.id} (${workload}) did not end in 60 s; status ${JSON.stringify(status)}`,
              ),
            ),
          (error: { code?: string }) =>
            reject(new Error(`run ${handle.id} (${workload}) did not end in 60 s; status ${error.code}`)),
        );
      }, 60_000);
    }),
  ]).finally(() => clearTimeout(timer));
  if (result.status !== 'done' || result.usage.turns !== turnsOfWorkload(workload))
    throw new Error(
      `a ${workload} run ended ${result.status} after ${result.usage.turns} turns: ${result.error?.message}`,
    );
  return result;
}

/** (a) The overhead per run of dispatching to a worker, against the same run in this process. */
async function dispatchCost() {
  const localStore = await openStore(storeUrl);
  const clusterStore = await openStore(storeUrl);
  const local = benchRuntime(localStore);
  const cluster = benchRuntime(clusterStore, { redisUrl, queue: queues.dispatch });
  const worker = await startWorker(queues.dispatch);
  const timed = async (runtime: Runtime) => {
    const started = performance.now();
    await runOne(runtime, 'dispatch');
    return performance.now() - started;
  };
  for (let warm = 0; warm < 10; warm++) {
    await timed(local);
    await timed(cluster);
  }
  const inProcess: number[] = [];
  const onCluster: number[] = [];
  for (let run = 0; run < 40; run++) {
    inProcess.push(await timed(local));
    onCluster.push(await timed(cluster));
  }
  await stopWorker(worker);
  await cluster.close();
  await local.close();
  await clusterStore.close();
  await localStore.close();
  const figure = {
    figure: 'dispatch-cost',
    store: 'postgres (both)',
    runs: inProcess.length,
    inProcessMedianMs: round(quantile(inProcess, 0.5)),
    inProcessP90Ms: round(quantile(inProcess, 0.9)),
    clusterMedianMs: round(quantile(onCluster, 0.5)),
    clusterP90Ms: round(quantile(onCluster, 0.9)),
    overheadMedianMs: round(quantile(onCluster, 0.5) - quantile(inProcess, 0.5)),
    resultRunNotFoundRetries: resultRaces,
  };
  print(figure);
  return figure;
}

/** Starts `count` I/O-bound runs at once and waits for them all; runs per second. */
async function burst(runtime: Runtime, count: number): Promise<number> {
  const started = performance.now();
  await Promise.all(Array.from({ length: count }, () => runOne(runtime, 'io')));
  return count / ((performance.now() - started) / 1000);
}

/** (b) Runs per second with 1 and with 2 worker processes of `concurrency` slots each. */
async function throughput(concurrency: (typeof throughputConcurrencies)[number]) {
  const queue = queues[`throughput${concurrency}`];
  const store = await openStore(storeUrl);
  const runtime = benchRuntime(store, { redisUrl, queue });
  const workers = [await startWorker(queue, false, concurrency)];
  const perWorkers: Record<number, number> = {};
  for (const count of [1, 2]) {
    if (count === 2) workers.push(await startWorker(queue, false, concurrency));
    await burst(runtime, 2 * concurrency * count);
    const runs = 12 * concurrency * count;
    const runsPerSecond = await burst(runtime, runs);
    perWorkers[count] = runsPerSecond;
    print({
      figure: 'throughput',
      workers: count,
      concurrencyPerWorker: concurrency,
      runs,
      runsPerSecond: round(runsPerSecond, 2),
    });
  }
  await Promise.all(workers.map(stopWorker));
  await runtime.close();
  await store.close();
  const speedup = round((perWorkers[2] ?? 0) / (perWorkers[1] ?? Number.NaN), 2);
  const figure = {
    resultRunNotFoundRetriesSoFar: resultRaces,
    figure: 'throughput-speedup',
    concurrencyPerWorker: concurrency,
    speedup,
    target: '>= 1.8',
    pass: speedup >= 1.8,
  };
  print(figure);
  return { concurrency, perWorkers, ...figure };
}

/** (c) From a SIGKILL to the first event another worker writes for each of the killed worker's runs. */
async function takeover() {
  const store = await openStore(storeUrl);
  const runtime = benchRuntime(store, { redisUrl, queue: queues.takeover, ...takeoverSettings });
  const workers = [await startWorker(queues.takeover, true), await startWorker(queues.takeover, true)];
  const latencies: number[] = [];
  for (let kill = 0; kill < 10; kill++) {
    // Runs of their own per kill, followed from here as any client would.
    const resumedAt = new Map<string, number>();
    const turnsSeen = new Map<string, number>();
    const handles = Array.from({ length: 4 }, () => runtime.start({ input: 'long' }));
    for (const handle of handles) {
      const count = (event: RunEvent) => {
        if (event.type === 'tool-result') turnsSeen.set(handle.id, (turnsSeen.get(handle.id) ?? 0) + 1);
      };
      // RUN_NOT_FOUND here is the core race resultOf describes: followed again by id, from where it was.
      handle.events$.subscribe({
        next: count,
        error: () => {
          resultRaces++;
          runtime.events(handle.id).subscribe({ next: count, error: () => {} });
        },
      });
    }
    // Kill once every run is held and a few turns in.
    const deadline = Date.now() + 30_000;
    const held = () => workers.flatMap((worker) => handles.filter((handle) => worker.running.has(handle.id)));
    while (held().length < handles.length || handles.some((handle) => (turnsSeen.get(handle.id) ?? 0) < 3)) {
      if (Date.now() > deadline) throw new Error('the runs of a kill were not all running after 30 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const victim = [...workers].sort(
      (a, b) =>
        handles.filter((h) => b.running.has(h.id)).length - handles.filter((h) => a.running.has(h.id)).length,
    )[0] as WorkerProcess;
    const moved = handles.filter((handle) => victim.running.has(handle.id)).map((handle) => handle.id);
    // Followed by id from here, as another API process would (the runs are in the store by now).
    const followers = moved.map((runId) =>
      runtime.events(runId).subscribe((event: RunEvent) => {
        if (event.type === 'run-start' && event.resumedFrom !== undefined && !resumedAt.has(runId))
          resumedAt.set(runId, performance.now());
      }),
    );
    const killedAt = performance.now();
    stopping.add(victim.child);
    victim.child.kill('SIGKILL');
    await victim.exited;
    workers.splice(workers.indexOf(victim), 1);
    const waitUntil = Date.now() + 30_000;
    while (moved.some((runId) => !resumedAt.has(runId)) && Date.now() < waitUntil)
      await new Promise((resolve) => setTimeout(resolve, 5));
    const slowest = Math.max(
      ...moved.map((runId) => (resumedAt.get(runId) ?? Number.POSITIVE_INFINITY) - killedAt),
    );
    latencies.push(slowest);
    for (const follower of followers) follower.unsubscribe();
    print({ figure: 'takeover-kill', kill: kill + 1, runsMoved: moved.length, latencyMs: round(slowest) });
    // Every run, moved or not, still finishes with all its turns.
    const [results] = await Promise.all([
      Promise.all(handles.map((handle) => resultOf(runtime, handle))),
      (async () => workers.push(await startWorker(queues.takeover, true)))(),
    ]);
    for (const result of results)
      if (result.status !== 'done' || result.usage.turns !== turnsOfWorkload('long'))
        throw new Error(`a run taken over ended ${result.status} after ${result.usage.turns} turns`);
  }
  await Promise.all(workers.map(stopWorker));
  await runtime.close();
  await store.close();
  const figure = {
    figure: 'takeover-latency',
    kills: latencies.length,
    lockDurationMs: takeoverSettings.lockDurationMs,
    stalledIntervalMs: takeoverSettings.stalledIntervalMs,
    p50Ms: round(quantile(latencies, 0.5)),
    maxMs: round(Math.max(...latencies)),
    target: 'max < 5000 ms',
    pass: Math.max(...latencies) < 5000,
  };
  print(figure);
  return figure;
}

/** Drops the schema and the queues' keys in Redis. */
async function cleanUp() {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
  const redis = new Redis(redisUrl);
  for (const queue of Object.values(queues)) {
    for (const pattern of [`bull:${queue}:*`, `agentchart:${queue}:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
    }
  }
  redis.disconnect();
}

const why = await unavailable();
if (why !== undefined) {
  print({ skipped: why });
} else {
  try {
    // Each phase on its own: one that fails (a worker killed from outside) is reported, not hidden.
    const attempt = async <T>(figure: string, phase: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await phase();
      } catch (error) {
        print({ figure, failed: (error as Error).message });
        for (const child of started)
          if (child.exitCode === null && child.signalCode === null) {
            stopping.add(child);
            child.kill('SIGKILL');
          }
        return undefined;
      }
    };
    const dispatch = await attempt('dispatch-cost', dispatchCost);
    const scales = [];
    for (const slots of throughputConcurrencies)
      scales.push({ slots, scale: await attempt('throughput', () => throughput(slots)) });
    const kills = await attempt('takeover-latency', takeover);
    const na = 'not measured (failed)';
    console.log(`
| bench/cluster | figure | target | pass |
| --- | --- | --- | --- |
| dispatch cost, 1-turn run (Postgres store both sides) | ${dispatch === undefined ? na : `${dispatch.overheadMedianMs} ms per run, median of ${dispatch.runs} (cluster ${dispatch.clusterMedianMs} ms vs in-process ${dispatch.inProcessMedianMs} ms)`} | none (measured) | - |
${scales
  .map(
    ({
      slots,
      scale,
    }) => `| throughput, 1 worker x ${slots} | ${scale === undefined ? na : `${round(scale.perWorkers[1] ?? Number.NaN, 2)} runs/s`} | - | - |
| throughput, 2 workers x ${slots} | ${scale === undefined ? na : `${round(scale.perWorkers[2] ?? Number.NaN, 2)} runs/s (${scale.speedup}x)`} | >= 1.8x | ${scale === undefined ? 'NO (failed)' : scale.pass ? 'yes' : 'NO'} |`,
  )
  .join('\n')}
| takeover after kill -9 | ${kills === undefined ? na : `p50 ${kills.p50Ms} ms, max ${kills.maxMs} ms over ${kills.kills} kills`} | max < 5000 ms | ${kills === undefined ? 'NO (failed)' : kills.pass ? 'yes' : 'NO'} |
`);
  } finally {
    for (const child of started)
      if (child.exitCode === null && child.signalCode === null) {
        stopping.add(child);
        child.kill('SIGKILL');
      }
    await cleanUp();
  }
}
// A failed phase leaves its runtime's followers open: they must not keep the bench from ending.
process.exit(0);
