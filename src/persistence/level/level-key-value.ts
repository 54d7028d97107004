import { mkdir, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Level } from 'level';
import { AgentchartError } from '../../agentchart-error.js';
import type { KeyValue, KeyValueWrite } from '../key-value/key-value.js';
import { createKeyedMutex, type KeyedMutex } from '../keyed-mutex.js';

/** What {@link levelKeyValue} takes. */
export interface LevelKeyValueOptions {
  /**
   * Create a new database where the folder is missing or empty (default true). With `false`, such a
   * folder fails with `STORE_NOT_FOUND` and nothing is created (what the CLI does).
   */
  create?: boolean;
}

interface Shared {
  db: Level<string, string>;
  opened: Promise<void>;
  users: number;
  /** One per folder, shared by every object on it: conditional batches of one key run one at a time. */
  mutex: KeyedMutex;
  /**
   * What the keys that conditional batches checked hold now, for every object on the folder: exact,
   * because LevelDB's lock gives the folder to this process alone, every write here goes through
   * this entry, and a key is read into it or written only under its lock. Bounded, oldest first.
   */
  checked: Map<string, string | undefined>;
}

/** How many checked keys a folder remembers the value of. */
const checkedKeys = 10_000;

/**
 * One `Level` instance per folder per process. A second `Level` on a folder this process already
 * holds fails to open and, in doing so, releases the first one's lock, so every store on a folder
 * shares one instance (counted, and closed when the last store closes). Folders are known by their
 * real path, so that two spellings of one folder (a symlink, `./x` and `x`) share it too.
 */
const openFolders = new Map<string, Shared>();

/**
 * A {@link KeyValue} on LevelDB (`level`) in the folder `path`. A new database is created only where
 * the folder is missing or empty: a folder that holds files but no valid LevelDB fails with
 * `STORE_CORRUPT`, and nothing in it is created or deleted (LevelDB itself would take such a folder
 * for a new database and delete its data files). A folder held by another process fails with
 * `STORE_LOCKED`. LevelDB's corruption and I/O failures come out of every read and write as
 * `STORE_CORRUPT` and `STORE_ERROR`, with LevelDB's error as the cause. Acknowledged writes survive
 * a process kill.
 */
export async function levelKeyValue(path: string, options: LevelKeyValueOptions = {}): Promise<KeyValue> {
  const { folder, isNew } = await prepareFolder(resolve(path), options.create ?? true);
  let shared = openFolders.get(folder);
  if (shared === undefined) {
    const db = new Level<string, string>(folder, {
      keyEncoding: 'utf8',
      valueEncoding: 'utf8',
      createIfMissing: isNew,
    });
    shared = { db, opened: db.open(), users: 0, mutex: createKeyedMutex(), checked: new Map() };
    openFolders.set(folder, shared);
  }
  shared.users++;
  const { db, mutex, checked } = shared;
  try {
    await shared.opened;
  } catch (cause) {
    if (--shared.users === 0) openFolders.delete(folder);
    throw openError(folder, cause);
  }
  let closed = false;
  const failed = (what: string) => (cause: unknown) => {
    throw levelError(folder, what, cause);
  };

  /** Runs `task` holding the mutex of every key, taken in key order (so that two tasks never deadlock). */
  const holding = <T>(keys: readonly string[], task: () => Promise<T>): Promise<T> => {
    const sorted = [...new Set(keys)].sort();
    const take = (index: number): Promise<T> =>
      index === sorted.length ? task() : mutex.run(sorted[index] as string, () => take(index + 1));
    return take(0);
  };

  const remember = (key: string, value: string | undefined) => {
    checked.delete(key);
    checked.set(key, value);
    if (checked.size > checkedKeys) checked.delete(checked.keys().next().value as string);
  };
  /**
   * Writes a batch, holding every key it writes (the caller does): a key's value changes only under
   * its lock, so what the folder remembers of it stays exact. `checking` are the keys a conditional
   * batch checked; they, and keys remembered already, are remembered as written.
   */
  const write = async (writes: readonly KeyValueWrite[], checking: ReadonlySet<string>) => {
    try {
      await db.batch(writes as KeyValueWrite[]);
    } catch (cause) {
      for (const { key } of writes) checked.delete(key);
      throw levelError(folder, 'batch', cause);
    }
    for (const write of writes) {
      if (checking.has(write.key) || checked.has(write.key))
        remember(write.key, write.type === 'put' ? write.value : undefined);
    }
  };
  const none = new Set<string>();

  return {
    get: (key) => db.get(key).catch(failed('get')),
    getMany: (keys) => db.getMany(keys as string[]).catch(failed('getMany')),
    batch: (writes) =>
      holding(
        writes.map(({ key }) => key),
        () => write(writes, none),
      ),
    batchIf: (expected, writes) => {
      const checking = new Set(expected.map(({ key }) => key));
      // Held: what it checks, and what it writes (no other batch changes them meanwhile).
      return holding([...checking, ...writes.map(({ key }) => key)], async () => {
        // What is stored now: remembered, or read (and remembered) for the keys not known.
        const current = new Map<string, string | undefined>();
        const unknown: string[] = [];
        for (const key of checking) {
          if (checked.has(key)) current.set(key, checked.get(key));
          else unknown.push(key);
        }
        if (unknown.length > 0) {
          const stored = await db.getMany(unknown).catch(failed('getMany'));
          unknown.forEach((key, index) => {
            current.set(key, stored[index]);
            remember(key, stored[index]);
          });
        }
        if (expected.some(({ key, value }) => current.get(key) !== value)) return false;
        await write(writes, checking);
        return true;
      });
    },
    async *range({ gte, lt, reverse = false, limit = -1 }) {
      try {
        yield* db.iterator({ gte, lt, reverse, limit });
      } catch (cause) {
        throw levelError(folder, 'read', cause);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      const current = openFolders.get(folder);
      if (current === undefined || --current.users > 0) return;
      openFolders.delete(folder);
      await db.close();
    },
  };
}

/**
 * Checks the folder before LevelDB sees it: a missing or empty folder is a new store (created here,
 * unless `create` is false); a folder with files must hold a LevelDB database (a `CURRENT` file that
 * names a manifest that exists), or nothing is touched. Returns the folder's real path.
 */
async function prepareFolder(folder: string, create: boolean): Promise<{ folder: string; isNew: boolean }> {
  const entries = await readdir(folder).catch((cause: NodeJS.ErrnoException) => {
    if (cause.code === 'ENOENT') return undefined;
    const reason = cause.code === 'ENOTDIR' ? 'it is not a folder' : cause.message;
    throw new AgentchartError({
      code: 'STORE_ERROR',
      message: `Cannot open the store at ${folder}: ${reason}`,
      details: { path: folder },
      cause,
    });
  });
  if (entries === undefined || entries.length === 0) {
    if (!create) {
      throw new AgentchartError({
        code: 'STORE_NOT_FOUND',
        message: `There is no store at ${folder}`,
        details: { path: folder },
      });
    }
    await mkdir(folder, { recursive: true });
    return { folder: await realpath(folder), isNew: true };
  }
  const reason = await whyNotLevelDb(folder, entries);
  if (reason !== undefined) {
    throw new AgentchartError({
      code: 'STORE_CORRUPT',
      message: `The folder ${folder} holds files but no valid LevelDB store: ${reason}. Nothing in it was changed: restore the whole folder from a backup, or give an empty or new folder.`,
      details: { path: folder, reason },
    });
  }
  return { folder: await realpath(folder), isNew: false };
}

/** Why a folder with files is not a LevelDB database, or undefined if it looks like one. */
async function whyNotLevelDb(folder: string, entries: readonly string[]): Promise<string | undefined> {
  if (!entries.includes('CURRENT')) {
    return 'it has no CURRENT file (opened as it is, LevelDB would start an empty database and delete the data files)';
  }
  const current = await readFile(join(folder, 'CURRENT'), 'utf8').catch((error: Error) => error);
  if (current instanceof Error) return `its CURRENT file cannot be read (${current.message})`;
  const manifest = /^(MANIFEST-\d+)\n$/.exec(current)?.[1];
  if (manifest === undefined) return `its CURRENT file does not name a manifest (${JSON.stringify(current)})`;
  const found = await stat(join(folder, manifest)).catch(() => undefined);
  if (found === undefined || !found.isFile()) return `its CURRENT file names ${manifest}, which is missing`;
  return undefined;
}

/** LevelDB's own code of a failure (on the error, or on its cause when opening). */
function levelCode(cause: unknown): string | undefined {
  const own = (cause as { code?: unknown })?.code;
  const inner = (cause as { cause?: { code?: unknown } })?.cause?.code;
  return [own, inner].find(
    (code): code is string => typeof code === 'string' && code !== 'LEVEL_DATABASE_NOT_OPEN',
  );
}

/** LevelDB's own message (the cause's, when opening). */
function levelMessage(cause: unknown): string {
  const inner = (cause as { cause?: unknown })?.cause;
  const source = inner instanceof Error ? inner : cause;
  return source instanceof Error ? source.message : String(source);
}

function levelError(folder: string, what: string, cause: unknown): AgentchartError {
  if (AgentchartError.isInstance(cause)) return cause;
  const code = levelCode(cause);
  return new AgentchartError({
    code: code === 'LEVEL_CORRUPTION' ? 'STORE_CORRUPT' : 'STORE_ERROR',
    message: `LevelDB ${what} failed in ${folder}: ${levelMessage(cause)}`,
    details: { path: folder, ...(code === undefined ? {} : { levelCode: code }) },
    cause,
  });
}

function openError(folder: string, cause: unknown): AgentchartError {
  if (levelCode(cause) === 'LEVEL_LOCKED') {
    return new AgentchartError({
      code: 'STORE_LOCKED',
      message: `The LevelDB store at ${folder} is held by another process; one process at a time can open it`,
      details: { path: folder },
      cause,
    });
  }
  return levelError(folder, 'open', cause);
}
