import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckpointStore } from 'agentchart';
import { levelKeyValue, levelStore } from 'agentchart/level';
import { postgresKeyValue, postgresStore } from 'agentchart/postgres';
import { createKeyValueStore, type KeyValue, memoryKeyValue } from 'agentchart/store';
import { type ContractTestApi, checkpointStoreContract } from 'agentchart/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  dropSchemas,
  freshSchema,
  postgresUnavailable,
  postgresUrl,
  StoreProcess,
  sql,
} from './fixtures/postgres.js';

const api = { describe, it, beforeEach, afterEach, beforeAll, afterAll };

// Memory: two store objects on one key-value space.
const spaces = new WeakMap<CheckpointStore, KeyValue>();
const onSpace = (kv: KeyValue) => {
  const store = createKeyValueStore(kv);
  spaces.set(store, kv);
  return store;
};
checkpointStoreContract('memory store', api, {
  create: async () => onSpace(memoryKeyValue()),
  another: async (store) => onSpace(spaces.get(store) as KeyValue),
});

// LevelDB: two levelStore objects on one folder.
const folders = new WeakMap<CheckpointStore, string>();
checkpointStoreContract('levelStore', api, {
  async create() {
    const path = mkdtempSync(join(tmpdir(), 'agentchart-store-'));
    const store = await levelStore({ path });
    folders.set(store, path);
    return store;
  },
  another: (store) => levelStore({ path: folders.get(store) as string }),
});

/**
 * Runs the contract suite on a backend whose compare-and-set was broken on purpose (its conditional
 * batch applies whatever the space holds), outside the test framework: the suite must catch it.
 */
async function contractFailuresOf(
  /** A fresh space (no `same`), or another object on the space of `same`. */
  open: (same?: KeyValue) => Promise<KeyValue>,
): Promise<string[]> {
  const tests: { name: string; body: () => Promise<void> }[] = [];
  const hooks = { before: [] as (() => Promise<void>)[], after: [] as (() => Promise<void>)[] };
  const runner: ContractTestApi = {
    describe: (_, body) => body(),
    it: (name, body) => void tests.push({ name, body }),
    beforeEach: (body) => void hooks.before.push(body),
    afterEach: (body) => void hooks.after.push(body),
  };
  const kvs = new WeakMap<CheckpointStore, KeyValue>();
  checkpointStoreContract('broken', runner, {
    async create() {
      const kv = await open();
      const store = createKeyValueStore(kv);
      kvs.set(store, kv);
      return store;
    },
    another: async (store) => createKeyValueStore(await open(kvs.get(store))),
  });
  const failed: string[] = [];
  for (const test of tests) {
    for (const hook of hooks.before) await hook();
    await test.body().catch(() => failed.push(test.name));
    for (const hook of hooks.after) await hook();
  }
  return failed;
}

/** The mutation: a conditional batch that no longer checks what the space holds. */
const withoutCheck = (inner: KeyValue): KeyValue => ({
  ...inner,
  batchIf: async (_, writes) => {
    await inner.batch(writes);
    return true;
  },
});
const memorySpaces = async (same?: KeyValue) => same ?? memoryKeyValue();
const levelFolders = new WeakMap<KeyValue, string>();
const levelSpaces = async (same?: KeyValue) => {
  const path =
    same === undefined
      ? mkdtempSync(join(tmpdir(), 'agentchart-mutant-'))
      : (levelFolders.get(same) as string);
  const kv = await levelKeyValue(path);
  levelFolders.set(kv, path);
  return kv;
};
const mutated = (open: (same?: KeyValue) => Promise<KeyValue>) => {
  const originals = new WeakMap<KeyValue, KeyValue>();
  return async (same?: KeyValue) => {
    const inner = await open(same === undefined ? undefined : originals.get(same));
    const broken = withoutCheck(inner);
    originals.set(broken, inner);
    return broken;
  };
};

describe.each([
  ['memory', memorySpaces],
  ['LevelDB', levelSpaces],
])('the contract suite on the %s backend', (_, spaces) => {
  it('fails the backend with its version check gone', async () => {
    const failed = await contractFailuresOf(mutated(spaces));
    expect(failed).toEqual(
      expect.arrayContaining([
        'loses no update when 20 writers on two store objects race with compare-and-set',
        'never reserves one event seq twice, with reservations racing on two store objects',
        'creates a run once when two store objects race to create it',
        'commits one of two runs racing to a session from two store objects',
        'fences a run taken over: the old owner writes nothing more',
      ]),
    );
  });

  it('passes the same backend with its check', async () => {
    expect(await contractFailuresOf(spaces)).toEqual([]);
  });
});

// PostgreSQL: two store objects (two pools) on one schema, and a store object in another process.
const postgresSkip = await postgresUnavailable();
if (postgresSkip !== undefined) console.log(`skipping the Postgres store tests: ${postgresSkip}`);
const describePostgres = postgresSkip === undefined ? describe : describe.skip;
const schemaOf = new WeakMap<CheckpointStore, string>();
const openPostgres = async (schema: string) => {
  const store = await postgresStore({ connectionString: postgresUrl }, { schema });
  schemaOf.set(store, schema);
  return store;
};
const otherProcess = new StoreProcess();
describePostgres('Postgres', () => {
  checkpointStoreContract('postgresStore', api, {
    create: () => openPostgres(freshSchema('contract')),
    another: (store) => openPostgres(schemaOf.get(store) as string),
    teardown: dropSchemas,
  });

  checkpointStoreContract('postgresStore, raced by another process', api, {
    setup: () => otherProcess.start(),
    create: () => openPostgres(freshSchema('contract')),
    another: (store) => otherProcess.open(schemaOf.get(store) as string),
    teardown: async () => {
      await otherProcess.stop();
      await dropSchemas();
    },
  });

  /** The mutation: `batch_if` with its comparison cut out, so it applies whatever the table holds. */
  const postgresKeyValues = new WeakMap<KeyValue, string>();
  const postgresSpaces = async (same?: KeyValue) => {
    const schema = same === undefined ? freshSchema('mutant') : (postgresKeyValues.get(same) as string);
    const kv = await postgresKeyValue({ connectionString: postgresUrl }, { schema });
    postgresKeyValues.set(kv, schema);
    return kv;
  };
  const brokenPostgresSpaces = async (same?: KeyValue) => {
    const kv = await postgresSpaces(same);
    if (same !== undefined) return kv;
    const schema = postgresKeyValues.get(kv) as string;
    const [definition] = await sql<{ text: string }>(`SELECT pg_get_functiondef($1::regproc) AS text`, [
      `${schema}.batch_if`,
    ]);
    const check = 'IF moved THEN RETURN false; END IF;';
    expect(definition?.text).toContain(check);
    await sql((definition?.text ?? '').replace(check, ''));
    return kv;
  };

  afterAll(dropSchemas);

  it('the contract suite fails the Postgres backend with its version check gone', async () => {
    const failed = await contractFailuresOf(brokenPostgresSpaces);
    expect(failed).toEqual(
      expect.arrayContaining([
        'loses no update when 20 writers on two store objects race with compare-and-set',
        'never reserves one event seq twice, with reservations racing on two store objects',
        'creates a run once when two store objects race to create it',
        'commits one of two runs racing to a session from two store objects',
        'fences a run taken over: the old owner writes nothing more',
      ]),
    );
  });

  it('the contract suite passes the same backend with its check', async () => {
    expect(await contractFailuresOf(postgresSpaces)).toEqual([]);
  });
});
