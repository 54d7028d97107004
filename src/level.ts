export { type LevelKeyValueOptions, levelKeyValue } from './persistence/level-key-value.js';
export { type LevelStoreOptions, levelStore } from './persistence/level-store.js';
