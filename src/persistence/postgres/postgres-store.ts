import type { CheckpointStore } from '../checkpoint-store.js';
import { isCheckedKey } from '../key-value/key-layout.js';
import { createKeyValueStore } from '../key-value/key-value-store.js';
import { cacheSizeOf, type StoreCacheOptions } from '../store-cache-options.js';
import {
  type PostgresConnection,
  type PostgresKeyValueOptions,
  postgresKeyValue,
} from './postgres-key-value.js';

/** What {@link postgresStore} takes besides the connection: `schema`, `create` and `cacheSize`. */
export interface PostgresStoreOptions
  extends Omit<PostgresKeyValueOptions, 'locksWrite'>,
    StoreCacheOptions {}

/**
 * A checkpoint store on PostgreSQL, which many processes can share: runs, checkpoints, messages
 * (content blocks stored once, by hash), the tool journal, the event log and sessions, in the tables
 * of `schema` (default `agentchart`), which it creates and migrates on open. Compare-and-set and
 * fencing are decided by the database, so two processes racing on one run never both win, and a
 * process whose run was taken over writes nothing more. A step's writes are one transaction, and no
 * connection is held while a run waits on its model.
 *
 * ```ts
 * const store = await postgresStore({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
 * const runtime = createRuntime({ model, tools, store });
 * ```
 *
 * Pass `{ pool }` to use a `pg.Pool` of yours (the store does not end it on close). `cacheSize`
 * bounds what the store object remembers between writes (default 1,000 runs; see
 * {@link StoreCacheOptions}); a bad value fails with `INVALID_ARGUMENT` before anything connects.
 * Needs the `pg` package (an optional peer dependency: `npm install pg`).
 */
export async function postgresStore(
  connection: PostgresConnection,
  options: PostgresStoreOptions = {},
): Promise<CheckpointStore> {
  const { cacheSize, ...keyValueOptions } = options;
  const cache = { cacheSize: cacheSizeOf(cacheSize) };
  // A batch locks, of the keys it writes, only those a batch of the store may check.
  const space = await postgresKeyValue(connection, { ...keyValueOptions, locksWrite: isCheckedKey });
  return createKeyValueStore(space, cache);
}
