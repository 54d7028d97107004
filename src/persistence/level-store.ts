import type { CheckpointStore } from './checkpoint-store.js';
import { createKeyValueStore } from './key-value-store.js';
import { levelKeyValue } from './level-key-value.js';

/** What {@link levelStore} takes. */
export interface LevelStoreOptions {
  /** The directory of the database; created if missing. One process at a time may hold it. */
  path: string;
}

/**
 * A checkpoint store on LevelDB (`level`): embedded, no server. The runtime's default, in
 * `./.agentchart`. Acknowledged writes survive a process kill. A directory another process holds
 * fails with `STORE_LOCKED`.
 *
 * @example
 * ```ts
 * import { levelStore } from 'agentchart/level';
 * const runtime = createRuntime({ model, store: await levelStore({ path: './data/agents' }) });
 * ```
 */
export async function levelStore({ path }: LevelStoreOptions): Promise<CheckpointStore> {
  // LevelDB admits one process per directory, so this store is the only writer.
  return createKeyValueStore(await levelKeyValue(path), { exclusive: true });
}
