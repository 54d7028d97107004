import { AgentchartError } from '../../agentchart-error.js';
import { parseCheckpointJson } from '../checkpoint-envelope.js';
import {
  blocksOf,
  type ContentBlob,
  loadedEvent,
  type StoredEventRecord,
  storedEvent,
} from '../content-blobs.js';
import type { EventLogStore, StoredRunEvent } from '../event-log-store.js';
import { createKeyedMutex } from '../keyed-mutex.js';
import { boundedMap } from './bounded-map.js';
import { keys, prefixRange } from './key-layout.js';
import type { KeyValue, KeyValueWrite } from './key-value.js';
import type { KeyValueBlobs } from './key-value-blobs.js';
import { assertEpoch, epochExpected } from './key-value-epoch.js';

/** A run's event log as its head key keeps it. */
export interface EventLogHead {
  /** One past the last logged seq. */
  next: number;
  /** How many events the log holds. */
  count: number;
  /** One past the last seq ever handed out for the run (reserved ranges included). */
  reserved: number;
}

/** The write of a run's first event-log head: `reserved` seqs handed to the run with its record. */
export function eventLogHeadWrite(runId: string, head: EventLogHead): KeyValueWrite {
  return { type: 'put', key: keys.eventLogHead(runId), value: JSON.stringify(head) };
}

/**
 * The event-log role of a store on a key-value space: a run's events by seq (their payloads, a
 * tool's output or a block of text, as content blobs its messages share), and its head (count,
 * next seq, reserved seqs). It remembers the heads it wrote of at most `rememberedHeads` runs.
 */
export function keyValueEventLog(kv: KeyValue, blobs: KeyValueBlobs, rememberedHeads: number): EventLogStore {
  // A run's appends and seq reservations through this store object go one at a time: a run's log
  // and its reservations race each other otherwise, and on a slow space the reservation kept
  // losing (a failed conditional write and two more reads each time).
  const updates = createKeyedMutex();
  /**
   * The head this store object last wrote of each run's log (oldest first, bounded): what its next
   * update expects, instead of reading it back. A guess: the space decides, and a refused update
   * reads the head and tries again.
   */
  const lastHeads = boundedMap<{ head: EventLogHead; text: string }>(rememberedHeads);

  async function readEventLogHead(runId: string): Promise<{ head: EventLogHead; text: string | undefined }> {
    const text = await kv.get(keys.eventLogHead(runId));
    if (text === undefined) return { head: { next: 0, count: 0, reserved: 0 }, text };
    const stored = parseCheckpointJson(text, `the event log of run '${runId}'`) as Partial<EventLogHead>;
    const next = stored.next ?? 0;
    return { head: { next, count: stored.count ?? 0, reserved: Math.max(stored.reserved ?? 0, next) }, text };
  }

  /**
   * Builds writes from the event log's head and applies them if the head has not moved meanwhile
   * (another writer of the same log), reading it and trying again if it has; `CONCURRENCY` if the
   * run was taken over from the writer of `epoch`.
   */
  function updateEventLog<T>(
    runId: string,
    epoch: number | undefined,
    build: (
      head: EventLogHead,
    ) => Promise<{ writes: KeyValueWrite[]; head: EventLogHead; result: T; blobs?: ContentBlob[] }>,
  ): Promise<T> {
    return updates.run(runId, async () => {
      let known: { head: EventLogHead; text: string | undefined } | undefined = lastHeads.get(runId);
      for (;;) {
        const { head, text } = known ?? (await readEventLogHead(runId));
        known = undefined;
        const planned = await build(head);
        if (planned.writes.length === 0 && planned.head === head) return planned.result;
        const headText = JSON.stringify(planned.head);
        const writes = [
          ...planned.writes,
          { type: 'put' as const, key: keys.eventLogHead(runId), value: headText },
        ];
        const expected = [{ key: keys.eventLogHead(runId), value: text }, ...epochExpected(runId, epoch)];
        if (await kv.batchIf(expected, writes)) {
          blobs.stored(planned.blobs ?? []);
          lastHeads.set(runId, { head: planned.head, text: headText });
          return planned.result;
        }
        lastHeads.delete(runId);
        await assertEpoch(kv, runId, epoch);
      }
    });
  }

  return {
    appendEvents: (runId, events, { maxEvents, epoch }) =>
      updateEventLog(runId, epoch, async (head) => {
        const fresh: StoredRunEvent[] = [];
        let last = head.next - 1;
        for (const stored of events) {
          if (stored.event.seq <= last) continue;
          fresh.push(stored);
          last = stored.event.seq;
        }
        if (fresh.length === 0) return { writes: [], head, result: undefined };
        // Beyond the bound the oldest go: first those stored, then (if the batch alone is too big) its first.
        const excess = Math.max(0, head.count + fresh.length - maxEvents);
        const deletes: KeyValueWrite[] = [];
        if (excess > 0 && head.count > 0) {
          const limit = Math.min(excess, head.count);
          for await (const [key] of kv.range({ ...prefixRange(keys.events(runId)), limit })) {
            deletes.push({ type: 'del', key });
          }
        }
        const kept = fresh.slice(Math.max(0, excess - deletes.length));
        const puts: KeyValueWrite[] = [];
        const needed: ContentBlob[] = [];
        for (const stored of kept) {
          const { record, blobs: eventBlobs } = storedEvent(stored);
          needed.push(...eventBlobs);
          puts.push({ type: 'put', key: keys.event(runId, stored.event.seq), value: JSON.stringify(record) });
        }
        const next = last + 1;
        const count = head.count - deletes.length + kept.length;
        return {
          writes: [...blobs.writesFor(needed), ...deletes, ...puts],
          head: { next, count, reserved: Math.max(head.reserved, next) },
          result: undefined,
          blobs: needed,
        };
      }),

    async readEvents(runId, fromSeq = 0) {
      const records: StoredEventRecord[] = [];
      const range = { ...prefixRange(keys.events(runId)), gte: keys.event(runId, Math.max(0, fromSeq)) };
      for await (const [, text] of kv.range(range)) {
        records.push(parseCheckpointJson(text, `an event of run '${runId}'`) as StoredEventRecord);
      }
      const hashes = records.flatMap(blocksOf);
      const blocks =
        hashes.length === 0 ? new Map() : await blobs.read(hashes, `The event log of run '${runId}'`);
      return records.map((record) => {
        try {
          return loadedEvent(record, blocks);
        } catch (cause) {
          throw new AgentchartError({
            code: 'STORE_CORRUPT',
            message: `An event of run '${runId}' refers to a content blob that is missing`,
            cause,
          });
        }
      });
    },

    reserveEventSeqs: (runId, count, options = {}) =>
      updateEventLog(runId, options.epoch, async (head) => ({
        writes: [],
        head: { ...head, reserved: head.reserved + count },
        result: head.reserved,
      })),
  };
}
