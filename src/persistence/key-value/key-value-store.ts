import type { CheckpointStore } from '../checkpoint-store.js';
import { cacheSizeOf, type StoreCacheOptions } from '../store-cache-options.js';
import type { KeyValue } from './key-value.js';
import { keyValueBlobs } from './key-value-blobs.js';
import { keyValueEventLog } from './key-value-event-log.js';
import { keyValueJournal } from './key-value-journal.js';
import { keyValueMessages } from './key-value-messages.js';
import { keyValueRuns } from './key-value-runs.js';
import { keyValueSessions } from './key-value-sessions.js';

/**
 * A {@link CheckpointStore} on any ordered {@link KeyValue} space, one module per role. Each content
 * block (a text, a tool call, a tool's output) is stored once, by the SHA-256 of its JSON, and is
 * referred to by hash from the runs' message logs, the tool journal, the event log and sessions.
 * A checkpoint writes only the messages that are new since its run's last one, and a run started
 * from another run's checkpoint starts its message log from that run's instead of copying it. Every
 * compare-and-set is decided by the space against what it holds (`batchIf`), so any number of
 * store objects on one space stay consistent. A store object remembers only what it wrote, for at
 * most `cacheSize` runs (default 1,000; see {@link StoreCacheOptions}): each run's last record and
 * event-log head, which its next write expects instead of reading them back, and the hashes of
 * blobs. A guess the space refuses when another writer moved on. `INVALID_ARGUMENT` for a bad
 * `cacheSize`.
 *
 * @example
 * ```ts
 * const store = createKeyValueStore(memoryKeyValue(), { cacheSize: 100 });
 * ```
 */
export function createKeyValueStore(kv: KeyValue, options: StoreCacheOptions = {}): CheckpointStore {
  const cacheSize = cacheSizeOf(options.cacheSize);
  const blobs = keyValueBlobs(kv, cacheSize * 10);
  return {
    ...keyValueRuns(kv, keyValueMessages(kv, blobs), cacheSize),
    ...keyValueJournal(kv, blobs),
    ...keyValueEventLog(kv, blobs, cacheSize),
    ...keyValueSessions(kv, blobs),
    close: () => kv.close(),
  };
}
