/**
 * `agentchart/postgres`: the PostgreSQL store, for runs that many processes share. Needs the `pg`
 * package (`npm install pg`).
 */
export {
  type PostgresConnection,
  type PostgresStoreOptions,
  postgresKeyValue,
} from './persistence/postgres/postgres-key-value.js';
export { postgresStore } from './persistence/postgres/postgres-store.js';
