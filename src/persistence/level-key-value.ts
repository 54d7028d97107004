import { resolve } from 'node:path';
import { Level } from 'level';
import { AgentchartError } from '../agentchart-error.js';
import type { KeyValue, KeyValueWrite } from './key-value.js';

interface Shared {
  db: Level<string, string>;
  opened: Promise<void>;
  users: number;
}

/**
 * One `Level` instance per directory per process. A second `Level` on a directory this process
 * already holds fails to open and, in doing so, releases the first one's lock, so every store on a
 * directory shares one instance (counted, and closed when the last store closes).
 */
const openDirectories = new Map<string, Shared>();

/**
 * A {@link KeyValue} on LevelDB (`level`) in the directory `path`, created if missing. Acknowledged
 * writes survive a process kill. A directory held by another process fails with `STORE_LOCKED`.
 */
export async function levelKeyValue(path: string): Promise<KeyValue> {
  const directory = resolve(path);
  let shared = openDirectories.get(directory);
  if (shared === undefined) {
    const db = new Level<string, string>(directory, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    shared = { db, opened: db.open(), users: 0 };
    openDirectories.set(directory, shared);
  }
  shared.users++;
  const { db } = shared;
  try {
    await shared.opened;
  } catch (cause) {
    if (--shared.users === 0) openDirectories.delete(directory);
    throw openError(directory, cause);
  }
  let closed = false;
  const failed = (what: string) => (cause: unknown) => {
    throw new AgentchartError({
      code: 'STORE_ERROR',
      message: `LevelDB ${what} failed in ${directory}`,
      cause,
    });
  };
  return {
    get: (key) => db.get(key).catch(failed('get')),
    getMany: (keys) => db.getMany(keys as string[]).catch(failed('getMany')),
    batch: (writes) => db.batch(writes as KeyValueWrite[]).catch(failed('batch')),
    async *range({ gte, lt, reverse = false, limit = -1 }) {
      yield* db.iterator({ gte, lt, reverse, limit });
    },
    async close() {
      if (closed) return;
      closed = true;
      const current = openDirectories.get(directory);
      if (current === undefined || --current.users > 0) return;
      openDirectories.delete(directory);
      await db.close();
    },
  };
}

function openError(directory: string, cause: unknown): AgentchartError {
  const code = (cause as { cause?: { code?: unknown } })?.cause?.code;
  if (code === 'LEVEL_LOCKED') {
    return new AgentchartError({
      code: 'STORE_LOCKED',
      message: `The LevelDB store at ${directory} is held by another process; one process at a time can open it`,
      details: { path: directory },
      cause,
    });
  }
  return new AgentchartError({
    code: 'STORE_ERROR',
    message: `Could not open the LevelDB store at ${directory}`,
    details: { path: directory },
    cause,
  });
}
