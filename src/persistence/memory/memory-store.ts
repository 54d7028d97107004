import type { CheckpointStore } from '../checkpoint-store.js';
import { createKeyValueStore } from '../key-value/key-value-store.js';
import type { StoreCacheOptions } from '../store-cache-options.js';
import { memoryKeyValue } from './memory-key-value.js';

/**
 * A checkpoint store in memory: everything a store does, nothing survives the process. For tests,
 * and for runs that need checkpoints (resume, fork) but not durability. `cacheSize` bounds what it
 * remembers between writes (see {@link StoreCacheOptions}).
 *
 * @example
 * ```ts
 * const runtime = createRuntime({ model, store: memoryStore() });
 * ```
 */
export function memoryStore(options: StoreCacheOptions = {}): CheckpointStore {
  return createKeyValueStore(memoryKeyValue(), options);
}
