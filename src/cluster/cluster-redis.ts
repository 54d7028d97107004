import { Redis, type RedisOptions } from 'ioredis';
import { AgentchartError } from '../agentchart-error.js';
import { scripts } from './cluster-keys.js';

/** The commands the cluster's Lua scripts add to a connection. */
export interface ClusterCommands {
  agentchartTakeOwner(owner: string, worker: string, ttlMs: number): Promise<number>;
  agentchartRenewOwner(owner: string, worker: string, ttlMs: number): Promise<number>;
  agentchartReleaseOwner(owner: string, worker: string): Promise<number>;
  agentchartClaimStream(epochKey: string, events: string, epoch: number): Promise<number>;
  agentchartAppendEvents(
    epochKey: string,
    events: string,
    epoch: number,
    maxLen: number,
    ...pairs: string[]
  ): Promise<number>;
  agentchartEndStream(epochKey: string, events: string, epoch: number, ttlMs: number): Promise<number>;
  agentchartRequeueControls(applying: string, controls: string): Promise<number>;
  agentchartTakeControl(
    owner: string,
    controls: string,
    applying: string,
    worker: string,
  ): Promise<string | null>;
  agentchartGiveBackControl(applying: string, controls: string, control: string): Promise<number>;
}

/** Where Redis is: ioredis options, or a `redis://` URL. */
export type RedisConnection = RedisOptions | string;

/**
 * The cluster's Redis connections: one for commands (with the cluster's scripts), one for
 * subscriptions, and blocking ones for stream readers. Connections retry forever (as BullMQ needs),
 * so that a Redis restart is waited out rather than failed.
 */
export interface ClusterRedis {
  readonly client: Redis & ClusterCommands;
  readonly subscriber: Redis;
  /** A new connection for blocking reads; the caller disconnects it. */
  blocking(): Redis;
  /** Whether `close` was called: no new connection is made after. */
  readonly closed: boolean;
  /** The options BullMQ's own connections are made from. */
  readonly options: RedisOptions;
  close(): Promise<void>;
}

export function connectRedis(connection: RedisConnection): ClusterRedis {
  const base: RedisOptions = typeof connection === 'string' ? optionsOfUrl(connection) : connection;
  const options: RedisOptions = { ...base, maxRetriesPerRequest: null, enableReadyCheck: true };
  const make = () => {
    const redis = new Redis(options as never);
    // Errors while Redis is away are retried by ioredis; they must not take the process down.
    redis.on('error', () => {});
    return redis;
  };
  const client = make() as Redis & ClusterCommands;
  client.defineCommand('agentchartTakeOwner', scripts.takeOwner);
  client.defineCommand('agentchartRenewOwner', scripts.renewOwner);
  client.defineCommand('agentchartReleaseOwner', scripts.releaseOwner);
  client.defineCommand('agentchartClaimStream', scripts.claimStream);
  client.defineCommand('agentchartAppendEvents', scripts.appendEvents);
  client.defineCommand('agentchartEndStream', scripts.endStream);
  client.defineCommand('agentchartRequeueControls', scripts.requeueControls);
  client.defineCommand('agentchartTakeControl', scripts.takeControl);
  client.defineCommand('agentchartGiveBackControl', scripts.giveBackControl);
  let subscriber: Redis | undefined;
  const blockers = new Set<Redis>();
  let closed = false;
  return {
    get closed() {
      return closed;
    },
    client,
    get subscriber() {
      subscriber ??= make();
      return subscriber;
    },
    blocking() {
      if (closed)
        throw new AgentchartError({ code: 'RUNTIME_CLOSED', message: 'The cluster connection is closed' });
      const redis = make();
      blockers.add(redis);
      redis.once('end', () => blockers.delete(redis));
      return redis;
    },
    options,
    async close() {
      closed = true;
      for (const redis of blockers) redis.disconnect();
      subscriber?.disconnect();
      await client.quit().catch(() => client.disconnect());
    },
  };
}

function optionsOfUrl(url: string): RedisOptions {
  const parsed = new URL(url);
  const db = parsed.pathname.replace('/', '');
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    ...(parsed.username === '' ? {} : { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password === '' ? {} : { password: decodeURIComponent(parsed.password) }),
    ...(db === '' ? {} : { db: Number(db) }),
  };
}
