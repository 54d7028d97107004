import { createHash } from 'node:crypto';
import pg from 'pg';
import { AgentchartError } from '../../agentchart-error.js';
import type { KeyRange, KeyValue, KeyValueExpectation, KeyValueWrite } from '../key-value/key-value.js';
import { checkSchemaName, migrate, schemaExists } from './postgres-schema.js';

/** Where the store's database is: a connection string (the store makes and ends its own pool), or a pool of yours. */
export type PostgresConnection =
  | { connectionString: string; pool?: never }
  | { pool: pg.Pool; connectionString?: never };

/** What {@link postgresKeyValue} (and `postgresStore`) take besides the connection. */
export interface PostgresKeyValueOptions {
  /** The schema that holds the store's tables (default `agentchart`). One schema is one store. */
  schema?: string;
  /**
   * Create the schema where it is missing (default true). With `false`, a missing schema fails with
   * `STORE_NOT_FOUND` and nothing is created (what the CLI does).
   */
  create?: boolean;
  /**
   * Which written keys a batch locks (default: every one). A batch always locks the keys it checks,
   * and must lock those it writes that another batch may check; a store whose layout says which
   * those are (`postgresStore` does) spares the others, and the database's lock table with them.
   */
  locksWrite?: (key: string) => boolean;
}

/** Rows read per query by a range read: a long range never holds a connection between pages. */
const pageSize = 512;

/**
 * A {@link KeyValue} on PostgreSQL (`pg`): one table of keys in byte order in `schema`, created and
 * migrated on open (versioned migrations under an advisory lock, safe when processes open at once).
 * Conditional batches are decided by the database (`batch_if`, one statement: advisory locks on the
 * keys it checks and writes, the comparison, the writes), so that store objects in any number of processes
 * share one compare-and-set. Every call is one query on a pooled connection, released when it
 * answers: no connection is held between calls, nor while a run waits on its model.
 */
export async function postgresKeyValue(
  connection: PostgresConnection,
  options: PostgresKeyValueOptions = {},
): Promise<KeyValue> {
  const schema = checkSchemaName(options.schema ?? 'agentchart');
  const locksWrite = options.locksWrite ?? (() => true);
  const owned = connection.pool === undefined;
  const pool = connection.pool ?? new pg.Pool({ connectionString: checkConnectionString(connection) });
  // An idle pooled connection that breaks (the server restarts) must not take the process down.
  if (owned) pool.on('error', () => {});
  const where = describe(pool, schema);
  const failed = (what: string) => (cause: unknown) => {
    throw postgresError(where, what, cause);
  };
  try {
    const client = await pool.connect().catch(failed('connect'));
    try {
      if (options.create === false && !(await schemaExists(client, schema))) {
        throw new AgentchartError({
          code: 'STORE_NOT_FOUND',
          message: `There is no store at ${where}`,
          details: { store: where },
        });
      }
      await migrate(client, schema).catch(failed('migrate'));
    } finally {
      client.release();
    }
  } catch (error) {
    if (owned) await pool.end().catch(() => {});
    throw error;
  }

  const statements = {
    get: `SELECT value FROM ${schema}.entries WHERE key = $1`,
    getMany: `SELECT key, value FROM ${schema}.entries WHERE key = ANY($1::text[])`,
    batchIf: `SELECT ${schema}.batch_if($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS applied`,
  };
  // Prepared statements are named per schema (a pool may serve several), by a digest: Postgres cuts
  // names at 63 bytes, and a long schema's `get` and `getMany` would otherwise be one statement.
  const prefix = `agentchart_${createHash('sha256').update(schema).digest('hex').slice(0, 16)}`;
  const named = (name: keyof typeof statements, values: unknown[]) => ({
    name: `${prefix}_${name}`,
    text: statements[name],
    values,
  });
  let closed = false;

  const applyIf = async (expected: readonly KeyValueExpectation[], writes: readonly KeyValueWrite[]) => {
    // The last write of a key wins, as in a LevelDB batch.
    const last = new Map<string, string | undefined>();
    for (const write of writes) last.set(write.key, write.type === 'put' ? write.value : undefined);
    const puts = [...last].filter((entry): entry is [string, string] => entry[1] !== undefined);
    const dels = [...last].filter(([, value]) => value === undefined).map(([key]) => key);
    const result = await pool
      .query<{ applied: boolean }>(
        named('batchIf', [
          expected.map(({ key }) => key),
          expected.map(({ value }) => value ?? null),
          puts.map(([key]) => key),
          puts.map(([, value]) => value),
          dels,
          [...last.keys()].filter(locksWrite),
        ]),
      )
      .catch(failed('write'));
    return result.rows[0]?.applied === true;
  };

  return {
    async get(key) {
      const result = await pool.query<{ value: string }>(named('get', [key])).catch(failed('get'));
      return result.rows[0]?.value;
    },
    async getMany(keys) {
      if (keys.length === 0) return [];
      const result = await pool
        .query<{ key: string; value: string }>(named('getMany', [keys]))
        .catch(failed('getMany'));
      const found = new Map(result.rows.map(({ key, value }) => [key, value]));
      return keys.map((key) => found.get(key));
    },
    async batch(writes) {
      if (writes.length > 0) await applyIf([], writes);
    },
    batchIf: applyIf,
    async *range({ gte, lt, reverse = false, limit = -1 }: KeyRange) {
      let left = limit < 0 ? Number.POSITIVE_INFINITY : limit;
      // Keyset paging: a forward page starts after the last key read, a reverse page ends before it.
      let low = gte;
      let high = lt;
      let lowInclusive = true;
      while (left > 0) {
        const size = Math.min(pageSize, left);
        const text = `SELECT key, value FROM ${schema}.entries WHERE key ${lowInclusive ? '>=' : '>'} $1 AND key < $2 ORDER BY key ${reverse ? 'DESC' : 'ASC'} LIMIT ${size}`;
        const values = [low, high];
        const page = await pool.query<{ key: string; value: string }>(text, values).catch(failed('read'));
        for (const row of page.rows) yield [row.key, row.value] as [string, string];
        left -= page.rows.length;
        if (page.rows.length < size) return;
        const last = page.rows[page.rows.length - 1]?.key as string;
        if (reverse) high = last;
        else {
          low = last;
          lowInclusive = false;
        }
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      if (owned) await pool.end();
    },
  };
}

function checkConnectionString(connection: { connectionString?: unknown }): string {
  const { connectionString } = connection;
  if (typeof connectionString !== 'string' || !/^postgres(ql)?:\/\//.test(connectionString)) {
    throw new AgentchartError({
      code: 'INVALID_ARGUMENT',
      message: `postgresStore takes { connectionString: 'postgres://…' } or { pool }; got ${JSON.stringify(connectionString)}`,
    });
  }
  return connectionString;
}

/** The store's name in messages: host, port, database and schema, never the password. */
function describe(pool: pg.Pool, schema: string): string {
  const { host = 'localhost', port = 5432, database, user } = pool.options as pg.PoolConfig;
  const fromString = (pool.options as pg.PoolConfig).connectionString;
  if (fromString !== undefined) {
    try {
      const url = new URL(fromString);
      url.password = '';
      url.search = '';
      return `${url.toString()} (schema ${schema})`;
    } catch {
      // Not a URL: named below from the pool's settings.
    }
  }
  return `postgres://${user ?? ''}${user === undefined ? '' : '@'}${host}:${port}/${database ?? ''} (schema ${schema})`;
}

function postgresError(where: string, what: string, cause: unknown): AgentchartError {
  if (AgentchartError.isInstance(cause)) return cause;
  const code = (cause as { code?: unknown })?.code;
  const reason = cause instanceof Error ? cause.message || String(code ?? 'failed') : String(cause);
  return new AgentchartError({
    code: 'STORE_ERROR',
    message: `Postgres ${what} failed on ${where}: ${reason}`,
    details: { store: where, ...(typeof code === 'string' ? { postgresCode: code } : {}) },
    cause,
  });
}
