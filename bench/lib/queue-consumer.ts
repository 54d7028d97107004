/**
 * A worker process of bench/cluster (started with `fork`): works for the cluster given as JSON in
 * BENCH_CLUSTER_SETTINGS ({ storeUrl, redisUrl, queue, concurrency, lockDurationMs?, stalledIntervalMs? }). Tells
 * its parent over IPC when it is ready and, as it changes, which runs it holds. SIGTERM shuts it
 * down gracefully (work()'s default signals).
 */
import { openStore } from 'agentchart';
import { benchRuntime, type ClusterBenchSettings } from './cluster-workload.js';

// A name of its own in `ps`, so that nobody's clean-up by pattern takes it for theirs.
process.title = 'agentchart-bench-cluster-consumer';
const settings = JSON.parse(process.env.BENCH_CLUSTER_SETTINGS ?? '{}') as ClusterBenchSettings & {
  storeUrl: string;
  concurrency: number;
};
const store = await openStore(settings.storeUrl);
const runtime = benchRuntime(store, settings);
const worker = await runtime.work({ concurrency: settings.concurrency });
process.send?.({ type: 'ready', id: worker.id });

let reported = '';
const report = setInterval(() => {
  const runs = worker.running().sort();
  if (runs.join() === reported) return;
  reported = runs.join();
  process.send?.({ type: 'running', runs });
}, 20);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  clearInterval(report);
  void (async () => {
    await worker.close();
    await runtime.close();
    await store.close();
    process.exit(0);
  })();
};
process.on('SIGTERM', stop);
// A bench that died leaves no worker behind.
process.on('disconnect', stop);
