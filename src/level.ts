export { type LevelStoreOptions, levelStore } from './persistence/level-store.js';
