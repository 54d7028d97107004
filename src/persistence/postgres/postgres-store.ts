import type { CheckpointStore } from '../checkpoint-store.js';
import { createKeyValueStore } from '../key-value/key-value-store.js';
import {
  type PostgresConnection,
  type PostgresStoreOptions,
  postgresKeyValue,
} from './postgres-key-value.js';

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
 * Pass `{ pool }` to use a `pg.Pool` of yours (the store does not end it on close). Needs the `pg`
 * package (an optional peer dependency: `npm install pg`).
 */
export async function postgresStore(
  connection: PostgresConnection,
  options: PostgresStoreOptions = {},
): Promise<CheckpointStore> {
  return createKeyValueStore(await postgresKeyValue(connection, options));
}
