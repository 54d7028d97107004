import type { CheckpointStore } from '../checkpoint-store.js';
import type { KeyValue } from './key-value.js';
import { keyValueEventLog } from './key-value-event-log.js';
import { keyValueJournal } from './key-value-journal.js';
import { keyValueMessages } from './key-value-messages.js';
import { keyValueRuns } from './key-value-runs.js';
import { keyValueSessions } from './key-value-sessions.js';

/**
 * A {@link CheckpointStore} on any ordered {@link KeyValue} space, one module per role. Messages are
 * stored once, by the SHA-256 of their JSON, and each run keeps a log of message hashes: a
 * checkpoint writes only the messages that are new since its run's last one, and a run started
 * from another run's checkpoint shares that run's messages instead of copying them. Nothing is
 * cached between calls: every compare-and-set is decided by the space against what it holds
 * (`batchIf`), so any number of store objects on one space stay consistent.
 */
export function createKeyValueStore(kv: KeyValue): CheckpointStore {
  return {
    ...keyValueRuns(kv, keyValueMessages(kv)),
    ...keyValueJournal(kv),
    ...keyValueEventLog(kv),
    ...keyValueSessions(kv),
    close: () => kv.close(),
  };
}
