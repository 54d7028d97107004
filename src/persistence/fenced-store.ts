import type { CheckpointStore } from './checkpoint-store.js';

/**
 * The store as one owner of a run writes to it: its journal entries, event-log appends and seq
 * reservations carry the owner epoch the owner took the run with, so that once another process has
 * taken the run over (`claimRun`), this one writes nothing more (`CONCURRENCY`). Checkpoint writes
 * are fenced already: they expect the run's version, which a claim moves on.
 */
export function fencedStore(store: CheckpointStore, epoch: number): CheckpointStore {
  const fenced: Partial<CheckpointStore> = {
    putToolResult: (runId, result, options) => store.putToolResult(runId, result, { ...options, epoch }),
    appendEvents: (runId, events, options) => store.appendEvents(runId, events, { ...options, epoch }),
    reserveEventSeqs: (runId, count, options) => store.reserveEventSeqs(runId, count, { ...options, epoch }),
  };
  return new Proxy(store, {
    get(target, property, receiver) {
      if (typeof property === 'string' && property in fenced)
        return fenced[property as keyof CheckpointStore];
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
