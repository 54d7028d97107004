export { type LevelKeyValueOptions, levelKeyValue } from './persistence/level/level-key-value.js';
export { type LevelStoreOptions, levelStore } from './persistence/level/level-store.js';
export type { StoreCacheOptions } from './persistence/store-cache-options.js';
