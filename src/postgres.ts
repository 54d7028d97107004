/**
 * `agentchart/postgres`: the PostgreSQL store, for runs that many processes share. Needs the `pg`
 * package (`npm install pg`).
 */
export {
  type PostgresConnection,
  type PostgresKeyValueOptions,
  postgresKeyValue,
} from './persistence/postgres/postgres-key-value.js';
export { type PostgresStoreOptions, postgresStore } from './persistence/postgres/postgres-store.js';
export type { StoreCacheOptions } from './persistence/store-cache-options.js';
