import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentchartError, type CheckpointStore, createRuntime, defineTool, memoryStore } from 'agentchart';
import { levelKeyValue, levelStore } from 'agentchart/level';
import { postgresKeyValue, postgresStore } from 'agentchart/postgres';
import {
  createKeyValueStore,
  isCheckedKey,
  type KeyValue,
  memoryKeyValue,
  type StoreCacheOptions,
} from 'agentchart/store';
import {
  type ContractTestApi,
  checkpointStoreContract,
  scriptedModel,
  testEnvelope,
} from 'agentchart/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
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

// Memory again, on a space that refuses a check of a key `isCheckedKey` does not name: the Postgres
// store locks only the written keys it names, so every key a batch checks must be one of them.
const onCheckingSpace = (kv: KeyValue) =>
  onSpace({
    ...kv,
    batchIf: (expected, writes) => {
      const unnamed = expected.find(({ key }) => !isCheckedKey(key));
      if (unnamed !== undefined)
        throw new Error(`a batch checks ${unnamed.key}, of a kind isCheckedKey does not name`);
      return kv.batchIf(expected, writes);
    },
  });
checkpointStoreContract('memory store, checking only the kinds isCheckedKey names', api, {
  create: async () => onCheckingSpace(memoryKeyValue()),
  another: async (store) => onCheckingSpace(spaces.get(store) as KeyValue),
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

// LevelDB again, with store objects that remember nothing, or two runs: only what is stored decides.
for (const cacheSize of [0, 2]) {
  checkpointStoreContract(`levelStore with cacheSize ${cacheSize}`, api, {
    async create() {
      const path = mkdtempSync(join(tmpdir(), 'agentchart-store-'));
      const store = await levelStore({ path, cacheSize });
      folders.set(store, path);
      return store;
    },
    another: (store) => levelStore({ path: folders.get(store) as string, cacheSize }),
  });
}

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
    // The batch_if the store calls (the one that also takes the keys to lock).
    const [definition] = await sql<{ text: string }>(`SELECT pg_get_functiondef($1::regprocedure) AS text`, [
      `${schema}.batch_if(text[], text[], text[], text[], text[], text[])`,
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

describe('cacheSize: how many runs a store object remembers', () => {
  /** A space that counts the reads of run records and of event-log heads. */
  function counted(inner: KeyValue) {
    const reads = { runs: 0, heads: 0 };
    const kv: KeyValue = {
      ...inner,
      get(key) {
        if (key.startsWith('run!')) reads.runs++;
        if (key.startsWith('evm!')) reads.heads++;
        return inner.get(key);
      },
    };
    return { kv, reads };
  }

  /**
   * Writes to `runs` runs in turn, three times each (a checkpoint and a seq reservation), on a store
   * with `options`, and counts what it read back of their records and event-log heads.
   */
  async function readsOf(options: StoreCacheOptions, runs: number) {
    const { kv, reads } = counted(memoryKeyValue());
    const store = createKeyValueStore(kv, options);
    const ids = Array.from({ length: runs }, (_, index) => `r${index}`);
    for (const runId of ids) await store.createRun({ runId, forkOf: null, messages: [] });
    Object.assign(reads, { runs: 0, heads: 0 });
    for (let step = 0; step < 3; step++) {
      for (const runId of ids) {
        await store.appendCheckpoint(testEnvelope(runId, step, []), step + 1);
        await store.reserveEventSeqs(runId, 10);
      }
    }
    await store.close();
    return reads;
  }

  it('reads nothing back of runs it remembers, and everything of runs beyond the bound', async () => {
    // Remembered (the default, 1,000 runs): only each run's first reservation reads its head.
    expect(await readsOf({}, 5)).toEqual({ runs: 0, heads: 5 });
    expect(await readsOf({ cacheSize: 2 }, 2)).toEqual({ runs: 0, heads: 2 });
    // Five runs in turn through a store that remembers two: each one is forgotten by its next write.
    expect(await readsOf({ cacheSize: 2 }, 5)).toEqual({ runs: 15, heads: 15 });
    expect(await readsOf({ cacheSize: 0 }, 1)).toEqual({ runs: 3, heads: 3 });
  });

  it.each([
    ['-1', -1],
    ['1.5', 1.5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ["'10' (a string)", '10'],
  ])(
    'refuses cacheSize %s with INVALID_ARGUMENT naming cacheSize, before opening anything',
    async (_, value) => {
      const cacheSize = value as number;
      const path = join(mkdtempSync(join(tmpdir(), 'agentchart-cache-')), 'never');
      const opens = [
        () => levelStore({ path, cacheSize }),
        async () => memoryStore({ cacheSize }),
        async () => createKeyValueStore(memoryKeyValue(), { cacheSize }),
        // Nothing listens there: a store that connected before checking would fail otherwise.
        () => postgresStore({ connectionString: 'postgres://127.0.0.1:1/nothing' }, { cacheSize }),
      ];
      for (const open of opens) {
        const error = await open().then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(AgentchartError.isInstance(error) && error.code).toBe('INVALID_ARGUMENT');
        expect((error as Error).message).toContain('cacheSize');
      }
      expect(existsSync(path)).toBe(false);
    },
  );

  const add = defineTool({
    name: 'add',
    description: 'Adds',
    input: z.object({ a: z.number(), b: z.number() }),
    execute: ({ a, b }) => a + b,
  });
  /** Three tool calls, then an answer that names the run's input: a checkpoint at every step. */
  const adding = () =>
    scriptedModel((request) => {
      const results = request.messages.filter((message) =>
        message.content.some((block) => block.type === 'tool-result'),
      ).length;
      const first = request.messages[0]?.content[0];
      const input = first?.type === 'text' ? first.text : '';
      return results < 3
        ? { toolCalls: [{ name: 'add', input: { a: results, b: 1 } }] }
        : { text: `Done: ${input}` };
    });

  describe.each([0, 2])('a runtime on levelStore({ cacheSize: %i })', (cacheSize) => {
    it('finishes five runs of several checkpoints each, at once, with their outputs', async () => {
      const store = await levelStore({ path: mkdtempSync(join(tmpdir(), 'agentchart-cache-')), cacheSize });
      const runtime = createRuntime({ model: adding(), tools: [add], store });
      const runs = Array.from({ length: 5 }, (_, index) =>
        runtime.start({ input: `add ${index}`, runId: `r${index}` }),
      );
      const results = await Promise.all(runs.map((run) => run.result));
      expect(results.map(({ status, output }) => ({ status, output }))).toEqual(
        Array.from({ length: 5 }, (_, index) => ({ status: 'done', output: `Done: add ${index}` })),
      );
      for (let index = 0; index < 5; index++) {
        expect((await runtime.runs.get(`r${index}`))?.status).toBe('done');
        expect((await runtime.checkpoints.list({ runId: `r${index}` })).length).toBeGreaterThanOrEqual(4);
      }
      await runtime.close();
      await store.close();
    });

    it('refuses the stale writer: a run another store object finished is not run again', async () => {
      const path = mkdtempSync(join(tmpdir(), 'agentchart-cache-'));
      const calls: number[] = [];
      const counting = defineTool({
        name: 'add',
        description: 'Adds, and counts its calls',
        input: z.object({ a: z.number(), b: z.number() }),
        execute: ({ a, b }) => {
          calls.push(a);
          return a + b;
        },
      });
      const storeA = await levelStore({ path, cacheSize });
      const storeB = await levelStore({ path, cacheSize });
      const a = createRuntime({ model: adding(), tools: [counting], store: storeA });
      const b = createRuntime({ model: adding(), tools: [counting], store: storeB });
      const run = a.start({ input: 'add p', runId: 'p' });
      await run.pause();
      await run.unload();
      const inB = await b.resume('p');
      expect(await inB.result).toMatchObject({ status: 'done', output: 'Done: add p' });
      const ran = [...calls];
      const checkpoints = (await b.checkpoints.list({ runId: 'p' })).map((meta) => meta.id);

      const error = await a.resume('p').then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(AgentchartError.isInstance(error) && error.code).toMatch(/^(RUN_ENDED|CONCURRENCY)$/);
      expect(calls).toEqual(ran);
      expect((await a.checkpoints.list({ runId: 'p' })).map((meta) => meta.id)).toEqual(checkpoints);
      for (const runtime of [a, b]) await runtime.close();
      for (const store of [storeA, storeB]) await store.close();
    });
  });
});
