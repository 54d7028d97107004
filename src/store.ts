/**
 * `agentchart/store`: what a store implementer needs. A store is the combination of the roles
 * (`RunStore`, `JournalStore`, `EventLogStore`, `SessionStore`); the easiest way to write one is to
 * give `createKeyValueStore` an ordered key-value space, and every store must pass
 * `checkpointStoreContract` from `agentchart/testing`.
 */
export type { CheckpointStore } from './persistence/checkpoint-store.js';
export type { AppendEventsOptions, EventLogStore, StoredRunEvent } from './persistence/event-log-store.js';
export type { JournalStore } from './persistence/journal-store.js';
export { isCheckedKey } from './persistence/key-value/key-layout.js';
export type {
  KeyRange,
  KeyValue,
  KeyValueExpectation,
  KeyValueWrite,
} from './persistence/key-value/key-value.js';
export { createKeyValueStore } from './persistence/key-value/key-value-store.js';
export { memoryKeyValue } from './persistence/memory/memory-key-value.js';
export type { CheckpointQuery, NewRun, RunQuery, RunRecord, RunStore } from './persistence/run-store.js';
export type {
  SessionCommit,
  SessionMessage,
  SessionRecord,
  SessionStore,
} from './persistence/session-store.js';
export type { StoreCacheOptions } from './persistence/store-cache-options.js';
