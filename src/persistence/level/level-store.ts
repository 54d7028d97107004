import type { CheckpointStore } from '../checkpoint-store.js';
import { createKeyValueStore } from '../key-value/key-value-store.js';
import { cacheSizeOf, type StoreCacheOptions } from '../store-cache-options.js';
import { levelKeyValue } from './level-key-value.js';

/** What {@link levelStore} takes (and `cacheSize`, see {@link StoreCacheOptions}). */
export interface LevelStoreOptions extends StoreCacheOptions {
  /** The folder of the database. One process at a time may hold it. */
  path: string;
  /**
   * Create a new store where the folder is missing or empty (default true). With `false`, such a
   * folder fails with `STORE_NOT_FOUND` and nothing is created: for tools that only read a store.
   */
  create?: boolean;
}

/**
 * A checkpoint store on LevelDB (`level`): embedded, no server. The runtime's default, in
 * `./.agentchart`. Acknowledged writes survive a process kill.
 *
 * Opening never costs data: a new store is created only where the folder is missing or empty, and a
 * folder that holds files but no valid LevelDB store fails with `STORE_CORRUPT` without anything in
 * it being created or deleted. A folder another process holds fails with `STORE_LOCKED`. Any number
 * of store objects on one folder in one process share one database and decide every
 * compare-and-set together. `cacheSize` bounds what a store object remembers between writes
 * (default 1,000 runs); a bad value fails with `INVALID_ARGUMENT` before the folder is looked at.
 *
 * @example
 * ```ts
 * import { levelStore } from 'agentchart/level';
 * const runtime = createRuntime({ model, store: await levelStore({ path: './data/agents' }) });
 * ```
 */
export async function levelStore({ path, create, cacheSize }: LevelStoreOptions): Promise<CheckpointStore> {
  const cache = { cacheSize: cacheSizeOf(cacheSize) };
  return createKeyValueStore(await levelKeyValue(path, create === undefined ? {} : { create }), cache);
}
