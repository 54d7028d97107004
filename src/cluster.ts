/**
 * `agentchart/cluster`: runs execute on BullMQ workers over Redis, with a shared store, behind the
 * same `Runtime` API. Needs the `bullmq` and `ioredis` packages.
 */
export { type BullmqClusterOptions, bullmqCluster } from './cluster/bullmq-cluster.js';
export type { RedisConnection } from './cluster/cluster-redis.js';
