/**
 * What the API process and the workers of the cluster example share: the model, the tools, the
 * store and Redis. Every process of a cluster must agree on these.
 *
 *   AGENTCHART_STORE   the shared store (default postgres://postgres@127.0.0.1:5432/test?schema=agentchart_cluster)
 *   REDIS_URL          Redis (default redis://127.0.0.1:6379)
 *   AGENTCHART_QUEUE   the BullMQ queue, one per cluster (default agentchart-example)
 *
 * With ANTHROPIC_API_KEY set the model is Claude; without it a scripted model answers (the one of
 * examples/server.ts: it asks before sending an email when the message says "email", and asks a
 * question when it says "ask").
 */
import { createRuntime, openStore, type Runtime } from 'agentchart';
import { bullmqCluster } from 'agentchart/cluster';
import { chooseModel, tools } from '../server.js';

export const storeUrl =
  process.env.AGENTCHART_STORE ?? 'postgres://postgres@127.0.0.1:5432/test?schema=agentchart_cluster';
export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const queueName = process.env.AGENTCHART_QUEUE ?? 'agentchart-example';

/** A runtime on the cluster: runs it starts execute on the workers; `close()` also closes the store. */
export async function openClusterRuntime(): Promise<{ runtime: Runtime; close(): Promise<void> }> {
  const store = await openStore(storeUrl);
  const runtime = createRuntime({
    model: await chooseModel(Number(process.env.TOKEN_DELAY_MS ?? 20)),
    tools,
    store,
    cluster: bullmqCluster({ connection: redisUrl, queue: queueName }),
  });
  return {
    runtime,
    async close() {
      await runtime.close();
      await store.close();
    },
  };
}
