/**
 * The API process of the cluster example: the HTTP service of examples/server.ts, on a runtime whose
 * runs execute on the workers (examples/cluster/worker.ts). Starting, following over SSE, pausing,
 * cancelling and answering work as they do in one process.
 *
 *   PORT=3000 npx tsx --conditions=agentchart-source examples/cluster/api.ts
 *
 * (`npm run cluster` starts it with two workers.)
 */
import { listenService } from '../server.js';
import { openClusterRuntime, queueName, storeUrl } from './config.js';

const cluster = await openClusterRuntime();
const service = await listenService(cluster.runtime, { port: Number(process.env.PORT ?? 3000) });
console.log(`agentchart cluster API listening on ${service.url} (queue ${queueName}, store ${storeUrl})`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void (async () => {
    await service.close();
    await cluster.close();
    process.exit(0);
  })();
};
// `on`, not `once`: a second signal (Ctrl-C reaches the whole group, then start.ts relays it) must not kill the shutdown.
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
