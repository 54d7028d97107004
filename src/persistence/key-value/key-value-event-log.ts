import { parseCheckpointJson } from '../checkpoint-envelope.js';
import type { AppendEventsOptions, EventLogStore, StoredRunEvent } from '../event-log-store.js';
import { keys, prefixRange } from './key-layout.js';
import type { KeyValue, KeyValueWrite } from './key-value.js';

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

/** The event-log role of a store on a key-value space: a run's events by seq, and its head (count, next seq, reserved seqs). */
export function keyValueEventLog(kv: KeyValue): EventLogStore {
  async function readEventLogHead(runId: string): Promise<{ head: EventLogHead; text: string | undefined }> {
    const text = await kv.get(keys.eventLogHead(runId));
    if (text === undefined) return { head: { next: 0, count: 0, reserved: 0 }, text };
    const stored = parseCheckpointJson(text, `the event log of run '${runId}'`) as Partial<EventLogHead>;
    const next = stored.next ?? 0;
    return { head: { next, count: stored.count ?? 0, reserved: Math.max(stored.reserved ?? 0, next) }, text };
  }

  /**
   * Reads the event log's head, builds writes from it, and applies them if the head has not moved
   * meanwhile (another writer of the same log), trying again if it has.
   */
  async function updateEventLog<T>(
    runId: string,
    build: (head: EventLogHead) => Promise<{ writes: KeyValueWrite[]; head: EventLogHead; result: T }>,
  ): Promise<T> {
    for (;;) {
      const { head, text } = await readEventLogHead(runId);
      const planned = await build(head);
      if (planned.writes.length === 0 && planned.head === head) return planned.result;
      const writes = [
        ...planned.writes,
        { type: 'put' as const, key: keys.eventLogHead(runId), value: JSON.stringify(planned.head) },
      ];
      if (await kv.batchIf([{ key: keys.eventLogHead(runId), value: text }], writes)) return planned.result;
    }
  }

  return {
    appendEvents: (runId: string, events: readonly StoredRunEvent[], { maxEvents }: AppendEventsOptions) =>
      updateEventLog(runId, async (head) => {
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
        const writes: KeyValueWrite[] = [];
        if (excess > 0 && head.count > 0) {
          const limit = Math.min(excess, head.count);
          for await (const [key] of kv.range({ ...prefixRange(keys.events(runId)), limit })) {
            writes.push({ type: 'del', key });
          }
        }
        const kept = fresh.slice(Math.max(0, excess - writes.length));
        for (const stored of kept) {
          writes.push({
            type: 'put',
            key: keys.event(runId, stored.event.seq),
            value: JSON.stringify(stored),
          });
        }
        const next = last + 1;
        const count = head.count - (writes.length - kept.length) + kept.length;
        return { writes, head: { next, count, reserved: Math.max(head.reserved, next) }, result: undefined };
      }),

    async readEvents(runId: string, fromSeq = 0) {
      const events: StoredRunEvent[] = [];
      const range = { ...prefixRange(keys.events(runId)), gte: keys.event(runId, Math.max(0, fromSeq)) };
      for await (const [, text] of kv.range(range)) {
        events.push(parseCheckpointJson(text, `an event of run '${runId}'`) as StoredRunEvent);
      }
      return events;
    },

    reserveEventSeqs: (runId: string, count: number) =>
      updateEventLog(runId, async (head) => ({
        writes: [],
        head: { ...head, reserved: head.reserved + count },
        result: head.reserved,
      })),
  };
}
