export { type LevelKeyValueOptions, levelKeyValue } from './persistence/level/level-key-value.js';
export { type LevelStoreOptions, levelStore } from './persistence/level/level-store.js';
