import type { EventLogStore } from './event-log-store.js';
import type { JournalStore } from './journal-store.js';
import type { RunStore } from './run-store.js';
import type { SessionStore } from './session-store.js';

/**
 * Where runs, checkpoints, messages, the tool-call journal, the event logs and sessions are kept:
 * every role of a store, which each consumer takes only the part it uses of. One interface for every
 * backend (memory, LevelDB, Postgres), each checked by the contract suite in `agentchart/testing`.
 */
export interface CheckpointStore extends RunStore, JournalStore, EventLogStore, SessionStore {
  close(): Promise<void>;
}
