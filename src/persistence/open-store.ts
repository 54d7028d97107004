import { AgentchartError } from '../agentchart-error.js';
import type { CheckpointStore } from './checkpoint-store.js';

/** What {@link openStore} takes besides the location. */
export interface OpenStoreOptions {
  /**
   * Create the store where there is none (default true). With `false`, a missing store fails with
   * `STORE_NOT_FOUND` and nothing is created: for tools that only read or control existing runs.
   */
  create?: boolean;
}

/** Whether `location` names a PostgreSQL database rather than a folder. */
export function isPostgresLocation(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/**
 * `location` as it may be printed: a Postgres URL without its password, or the folder as given.
 */
export function displayLocation(location: string): string {
  if (!isPostgresLocation(location)) return location;
  try {
    const url = new URL(location);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return 'postgres://…';
  }
}

/**
 * Opens the store at `location`: a `postgres://` (or `postgresql://`) URL opens `postgresStore`
 * (its `schema` query parameter picks the schema, default `agentchart`; needs the `pg` package);
 * anything else is a folder for `levelStore`. What the CLI's `--store` and `AGENTCHART_STORE` take.
 *
 * ```ts
 * const store = await openStore(process.env.AGENTCHART_STORE ?? './data/agents');
 * ```
 */
export async function openStore(location: string, options: OpenStoreOptions = {}): Promise<CheckpointStore> {
  if (typeof location !== 'string' || location === '') {
    throw new AgentchartError({
      code: 'INVALID_ARGUMENT',
      message: `openStore takes a folder or a postgres:// URL; got ${JSON.stringify(location)}`,
    });
  }
  const create = options.create === undefined ? {} : { create: options.create };
  if (!isPostgresLocation(location)) {
    const { levelStore } = await import('./level/level-store.js');
    return levelStore({ path: location, ...create });
  }
  let url: URL;
  try {
    url = new URL(location);
  } catch (cause) {
    throw new AgentchartError({
      code: 'INVALID_ARGUMENT',
      message: `${displayLocation(location)} is not a valid postgres:// URL`,
      cause,
    });
  }
  const schema = url.searchParams.get('schema') ?? undefined;
  url.searchParams.delete('schema');
  const postgres = await import('./postgres/postgres-store.js').catch((cause: unknown) => {
    throw new AgentchartError({
      code: 'STORE_ERROR',
      message: `A postgres:// store needs the pg package: npm install pg (${(cause as Error).message})`,
      cause,
    });
  });
  return postgres.postgresStore(
    { connectionString: url.toString() },
    { ...(schema === undefined ? {} : { schema }), ...create },
  );
}
