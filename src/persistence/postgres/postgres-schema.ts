import type { PoolClient } from 'pg';
import { AgentchartError } from '../../agentchart-error.js';

/** A schema name the store accepts: a plain lower-case SQL identifier, never quoted or interpolated raw. */
const identifier = /^[a-z_][a-z0-9_]{0,62}$/;

/** Checks `schema` as a Postgres identifier, or throws `INVALID_ARGUMENT`. */
export function checkSchemaName(schema: string): string {
  if (!identifier.test(schema)) {
    throw new AgentchartError({
      code: 'INVALID_ARGUMENT',
      message: `The Postgres schema name ${JSON.stringify(schema)} is not a plain identifier: use lower-case letters, digits and _, starting with a letter or _ (at most 63)`,
      details: { schema },
    });
  }
  return schema;
}

/** One step of the store's tables, applied once, in order, in the transaction that records it. */
interface Migration {
  version: number;
  name: string;
  sql(schema: string): string;
}

/**
 * The store's tables, by version. The store is the ordered key space every backend shares
 * (`createKeyValueStore`): `entries` holds it, keyed in byte order (collation "C", as LevelDB
 * orders keys). `batch_if` is the conditional batch, decided in the database: it takes an advisory
 * transaction lock on each key it checks and on each written key it is given to lock (`lock_keys`,
 * since version 2; in lock order, so that two batches never deadlock), compares what is stored
 * with what is expected, and applies the writes only if all match, in one statement.
 * Never edit a migration that has shipped: add the next one.
 */
const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'entries and batch_if',
    sql: (s) => `
      CREATE TABLE ${s}.entries (
        key text COLLATE "C" PRIMARY KEY,
        value text NOT NULL
      );
      CREATE FUNCTION ${s}.batch_if(
        expected_keys text[], expected_values text[],
        put_keys text[], put_values text[], del_keys text[]
      ) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $body$
      DECLARE
        lock_key bigint;
        moved boolean;
      BEGIN
        FOR lock_key IN
          SELECT DISTINCT hashtextextended('${s}:' || k, 0) AS h FROM unnest(expected_keys) AS k ORDER BY h
        LOOP
          PERFORM pg_advisory_xact_lock(lock_key);
        END LOOP;
        SELECT EXISTS (
          SELECT 1 FROM unnest(expected_keys, expected_values) AS e(key, value)
          LEFT JOIN ${s}.entries AS stored ON stored.key = e.key
          WHERE stored.value IS DISTINCT FROM e.value
        ) INTO moved;
        IF moved THEN RETURN false; END IF;
        DELETE FROM ${s}.entries WHERE key = ANY(del_keys);
        INSERT INTO ${s}.entries (key, value)
          SELECT k, v FROM unnest(put_keys, put_values) AS w(k, v)
          ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;
        RETURN true;
      END
      $body$;
    `,
  },
  {
    version: 2,
    name: 'batch_if locks the keys it writes',
    // A batch that wrote a key another batch checks (a claim moving a run's epoch) without its lock
    // could commit between that batch's comparison and its commit: a fenced write passed after its
    // fence moved. This batch_if also locks `lock_keys`, the written keys another batch may check,
    // all in one order. (The five-argument one stays, for a process of the previous version.)
    sql: (s) => `
      CREATE OR REPLACE FUNCTION ${s}.batch_if(
        expected_keys text[], expected_values text[],
        put_keys text[], put_values text[], del_keys text[], lock_keys text[]
      ) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $body$
      DECLARE
        lock_key bigint;
        moved boolean;
      BEGIN
        FOR lock_key IN
          SELECT DISTINCT hashtextextended('${s}:' || k, 0) AS h
          FROM unnest(expected_keys || lock_keys) AS k ORDER BY h
        LOOP
          PERFORM pg_advisory_xact_lock(lock_key);
        END LOOP;
        SELECT EXISTS (
          SELECT 1 FROM unnest(expected_keys, expected_values) AS e(key, value)
          LEFT JOIN ${s}.entries AS stored ON stored.key = e.key
          WHERE stored.value IS DISTINCT FROM e.value
        ) INTO moved;
        IF moved THEN RETURN false; END IF;
        DELETE FROM ${s}.entries WHERE key = ANY(del_keys);
        INSERT INTO ${s}.entries (key, value)
          SELECT k, v FROM unnest(put_keys, put_values) AS w(k, v)
          ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;
        RETURN true;
      END
      $body$;
    `,
  },
];

/** The newest version this build knows. */
export const schemaVersion = migrations.length;

/** Whether the store's schema exists (its migrations table is there). */
export async function schemaExists(client: PoolClient, schema: string): Promise<boolean> {
  const found = await client.query<{ found: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS found`, [
    `${schema}.migrations`,
  ]);
  return found.rows[0]?.found === true;
}

/**
 * Brings the schema to {@link schemaVersion}: creates it where missing and applies each migration
 * not yet applied, all in one transaction under an advisory lock on the schema's name, so that
 * processes opening at once apply each migration once (the others wait, then find it applied). A
 * schema from a newer build fails with `STORE_ERROR`, and nothing is changed.
 */
export async function migrate(client: PoolClient, schema: string): Promise<{ from: number; to: number }> {
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [
      `agentchart-migrate:${schema}`,
    ]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${schema}.migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const applied = await client.query<{ version: number | null }>(
      `SELECT max(version) AS version FROM ${schema}.migrations`,
    );
    const from = applied.rows[0]?.version ?? 0;
    if (from > schemaVersion) {
      throw new AgentchartError({
        code: 'STORE_ERROR',
        message: `The Postgres schema ${schema} is at version ${from}, made by a newer agentchart; this one knows up to ${schemaVersion}. Nothing was changed: upgrade agentchart.`,
        details: { schema, version: from, known: schemaVersion },
      });
    }
    for (const migration of migrations.filter(({ version }) => version > from)) {
      await client.query(migration.sql(schema));
      await client.query(`INSERT INTO ${schema}.migrations (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
    }
    await client.query('COMMIT');
    return { from, to: schemaVersion };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
