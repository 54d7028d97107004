/**
 * A worker process of the cluster example: executes the runs that API processes start, up to
 * WORKER_CONCURRENCY (default 8) at once. On SIGTERM or SIGINT it stops taking runs, checkpoints its
 * live ones and hands them back to the queue (work()'s default signals), then exits.
 *
 *   npx tsx --conditions=agentchart-source examples/cluster/worker.ts
 */
import { openClusterRuntime, queueName } from './config.js';

const cluster = await openClusterRuntime();
const worker = await cluster.runtime.work({ concurrency: Number(process.env.WORKER_CONCURRENCY ?? 8) });
console.log(`worker ${worker.id} taking runs from queue ${queueName}`);

// work() already listens for these and hands the live runs back; this waits for that, then exits.
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void (async () => {
    const held = worker.running().length;
    await worker.close();
    await cluster.close();
    console.log(`worker ${worker.id} stopped (${held} runs were live at the signal; they were handed back)`);
    process.exit(0);
  })();
};
// `on`, not `once`: a second signal (Ctrl-C reaches the whole group, then start.ts relays it) must not kill the shutdown.
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
