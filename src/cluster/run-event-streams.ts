import type { Redis } from 'ioredis';
import { Observable } from 'rxjs';
import { runNotFound } from '../agentchart-error.js';
import type { EventLogStore } from '../persistence/event-log-store.js';
import type { RunStore } from '../persistence/run-store.js';
import { runEventFollower, unseen } from '../streaming/event-log.js';
import type { RunEvent } from '../streaming/run-event.js';
import type { ClusterKeys } from './cluster-keys.js';
import type { ClusterRedis } from './cluster-redis.js';
import { resultOfCheckpoint } from './result-of-checkpoint.js';

const terminal = new Set<string>(['done', 'failed', 'cancelled']);

/** How long a follower blocks on the stream per read, and waits before it tries again after a failure. */
const blockMs = 2_000;
const retryMs = 250;

/** One Redis Stream entry: its id and its fields. */
type StreamEntry = [id: string, fields: string[]];

function eventOf([, fields]: StreamEntry): RunEvent | undefined {
  const index = fields.indexOf('event');
  const text = index < 0 ? undefined : fields[index + 1];
  return text === undefined ? undefined : (JSON.parse(text) as RunEvent);
}

/**
 * Writes a run's events to its Redis Stream as its worker emits them, in order, fenced by the
 * worker's owner epoch: once a newer owner has claimed the stream, the script refuses, nothing is
 * written, and `onFenced` is told (the worker stops its copy of the run).
 */
export function createStreamWriter(options: {
  redis: ClusterRedis;
  keys: ClusterKeys;
  runId: string;
  maxLen: number;
  onFenced: () => void;
}) {
  const { redis, keys, runId, maxLen, onFenced } = options;
  let epoch: number | undefined;
  let fenced = false;
  let queue: RunEvent[] = [];
  /** The highest seq queued: an event is written once, in seq order. */
  let highest = -1;
  let writing: Promise<void> = Promise.resolve();

  const flush = async () => {
    if (epoch === undefined || fenced || queue.length === 0) return;
    const batch = queue;
    queue = [];
    const args = batch.flatMap((event) => [String(event.seq), JSON.stringify(event)]);
    let applied: number;
    try {
      applied = await redis.client.agentchartAppendEvents(
        keys.epoch(runId),
        keys.events(runId),
        epoch,
        maxLen,
        ...args,
      );
    } catch {
      // Redis is away: the batch goes first next time, so that the stream never has a hole.
      queue = [...batch, ...queue];
      return;
    }
    if (applied === 0) {
      fenced = true;
      onFenced();
    }
  };
  const schedule = () => {
    writing = writing.then(flush);
    return writing;
  };
  return {
    /** The run is live here with `ownerEpoch`: claims the stream, then writes what waited. */
    async claim(ownerEpoch: number) {
      epoch = ownerEpoch;
      const claimed = await redis.client
        .agentchartClaimStream(keys.epoch(runId), keys.events(runId), ownerEpoch)
        .catch(() => 1);
      if (claimed === 0) {
        fenced = true;
        onFenced();
        return;
      }
      await schedule();
    },
    write(event: RunEvent) {
      if (event.seq <= highest) return;
      highest = event.seq;
      queue.push(event);
      void schedule();
    },
    /** The highest seq written or queued. */
    lastSeq: () => highest,
    /** Waits for what was written so far; on `run-end`, lets the stream expire `ttlMs` later. */
    async finish(ended: boolean, ttlMs: number) {
      await schedule();
      if (queue.length > 0) await schedule();
      if (ended && epoch !== undefined && !fenced)
        await redis.client
          .agentchartEndStream(keys.epoch(runId), keys.events(runId), epoch, ttlMs)
          .catch(() => {});
    },
  };
}

/**
 * A run's events from `fromSeq` on, in any process: what the store's event log holds below the
 * stream's oldest entry (entries trimmed by `MAXLEN`, or a stream expired after the end), then the
 * stream's entries, then new ones as they arrive (`XREAD BLOCK`), with no gap and no duplicate:
 * events go out in seq order, each once. Completes after `run-end`. A broken connection (Redis
 * restarting) is retried from the last seq given out. `RUN_NOT_FOUND` for a run that is neither in
 * the store nor dispatched.
 */
export function followClusterEvents(options: {
  redis: ClusterRedis;
  keys: ClusterKeys;
  store: () => Promise<EventLogStore & Pick<RunStore, 'getRun' | 'getCheckpoint'>>;
  /** Whether a job for the run waits in the queue (a run dispatched, not yet in the store). */
  dispatched: (runId: string) => Promise<boolean>;
  runId: string;
  fromSeq: number;
}): Observable<RunEvent> {
  const { keys, runId } = options;
  return new Observable<RunEvent>((subscriber) => {
    const follower = runEventFollower(subscriber, options.fromSeq);
    const { cursor, forward } = follower;
    let reader: Redis | undefined;

    /**
     * A run whose record says it ended, and whose end the reader has not seen: looked at again on
     * each of the next reads; after three, the end is made from the run's last checkpoint (a process
     * that stopped between its last checkpoint and logging the end never logs it).
     */
    let endedLooks = 0;
    const endedWithoutEnd = async (
      store: EventLogStore & Pick<RunStore, 'getRun'> & Partial<Pick<RunStore, 'getCheckpoint'>>,
    ) => {
      if (++endedLooks < 3 || follower.stopped) return;
      const record = await store.getRun(runId);
      const head =
        record?.headCheckpointId == null ? undefined : await store.getCheckpoint?.(record.headCheckpointId);
      if (head === undefined) return;
      forward({
        type: 'run-end',
        runId,
        seq: cursor.seq + 1,
        at: Date.parse(head.savedAt),
        result: resultOfCheckpoint(runId, head),
      } as RunEvent);
    };

    /** Catches up from the store below the stream's oldest entry, then from the stream. Returns the stream id read to. */
    const catchUp = async (client: Redis): Promise<string> => {
      const key = keys.events(runId);
      const [oldest] = (await client.xrange(key, '-', '+', 'COUNT', 1)) as StreamEntry[];
      const oldestSeq = oldest === undefined ? undefined : eventOf(oldest)?.seq;
      if (oldestSeq === undefined || oldestSeq > cursor.seq + 1) {
        const store = await options.store();
        // The whole tail: a block the store coalesced may start below the stream's oldest entry and
        // end above it (the stream's entries it covers are then skipped as seen).
        for (const stored of await store.readEvents(runId, cursor.seq + 1)) forward(unseen(stored, cursor));
        if (follower.stopped) return '$';
        if (oldest === undefined) {
          // The marker first: a worker takes it away only once the run is stored.
          const dispatched = cursor.seq < 0 && (await options.dispatched(runId));
          const record = await store.getRun(runId);
          if (record === undefined && cursor.seq < 0 && !dispatched) throw runNotFound(runId);
          // Ended, and its stream expired, but its end is not logged yet (the log is written a
          // moment after the last checkpoint): the loop below looks again, and in the end takes
          // the end from the run's last checkpoint.
          if (record !== undefined && terminal.has(record.status)) await endedWithoutEnd(store);
        }
      }
      let lastId = '0';
      for (const entry of (await client.xrange(key, '-', '+')) as StreamEntry[]) {
        lastId = entry[0];
        forward(eventOf(entry));
      }
      return lastId;
    };

    const run = async () => {
      while (!follower.stopped) {
        try {
          reader ??= options.redis.blocking();
          let lastId = await catchUp(reader);
          while (!follower.stopped) {
            const read = (await reader.xread('BLOCK', blockMs, 'STREAMS', keys.events(runId), lastId)) as
              | [string, StreamEntry[]][]
              | null;
            for (const [, entries] of read ?? []) {
              for (const entry of entries) {
                lastId = entry[0];
                forward(eventOf(entry));
              }
            }
            if (read === null && !follower.stopped) {
              // A stream that expired under a reader (the run ended long ago), or one that lacks the
              // end of a run that ended (its writer was fenced, or Redis restarted): from the store.
              const store = await options.store();
              const record = await store.getRun(runId);
              if ((await reader.exists(keys.events(runId))) === 0) lastId = await catchUp(reader);
              else if (record !== undefined && terminal.has(record.status)) {
                for (const stored of await store.readEvents(runId, cursor.seq + 1))
                  forward(unseen(stored, cursor));
                if (!follower.stopped) await endedWithoutEnd(store);
              }
            }
          }
        } catch (error) {
          if (follower.stopped) return;
          const code = (error as { code?: unknown }).code;
          if (code === 'RUN_NOT_FOUND' || code === 'RUNTIME_CLOSED' || options.redis.closed) {
            follower.fail(error);
            return;
          }
          reader?.disconnect();
          reader = undefined;
          await new Promise((resolve) => setTimeout(resolve, retryMs));
        }
      }
    };
    void run();
    return () => {
      follower.stop();
      reader?.disconnect();
    };
  });
}
