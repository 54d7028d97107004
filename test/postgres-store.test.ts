/**
 * The Postgres store beyond the contract suite: its migrations (raced by many pools and another
 * process), what it refuses, and that no connection is held while a run waits on its model.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AgentchartError, createRuntime, defineTool, openStore } from 'agentchart';
import { postgresKeyValue, postgresStore } from 'agentchart/postgres';
import { scriptedModel } from 'agentchart/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  dropSchemas,
  freshSchema,
  postgresUnavailable,
  postgresUrl,
  StoreProcess,
  sql,
} from './fixtures/postgres.js';
import { gate } from './helpers.js';

const skip = await postgresUnavailable();
if (skip !== undefined) console.log(`skipping the Postgres store tests: ${skip}`);

const repo = fileURLToPath(new URL('..', import.meta.url));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** Runs the CLI in a fresh process. */
function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', tsx, '--conditions=agentchart-source', join(repo, 'src/cli.ts'), ...args],
      { timeout: 30_000 },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }),
    );
  });
}

const schemaExists = async (schema: string) =>
  (await sql(`SELECT 1 FROM information_schema.schemata WHERE schema_name = $1`, [schema])).length === 1;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => new Error('it did not fail'),
    (thrown: unknown) => thrown,
  );
  return AgentchartError.isInstance(error) ? error.code : String(error);
}

describe.skipIf(skip !== undefined)('postgresStore', () => {
  afterAll(dropSchemas);

  it('applies each migration once when eight pools and another process open one new schema at once', async () => {
    const schema = freshSchema('migrate');
    const other = new StoreProcess();
    await other.start();
    try {
      const opened = await Promise.all([
        ...Array.from({ length: 8 }, () => postgresStore({ connectionString: postgresUrl }, { schema })),
        other.open(schema),
      ]);
      const applied = await sql<{ version: number }>(
        `SELECT version FROM ${schema}.migrations ORDER BY version`,
      );
      expect(applied.map(({ version }) => version)).toEqual([1, 2]);
      // Every one of them works on the same tables.
      const [first] = opened;
      await first?.createRun({ runId: 'r', forkOf: null, messages: [] });
      for (const store of opened) expect((await store.getRun('r'))?.runId).toBe('r');
      await Promise.all(opened.map((store) => store.close()));
    } finally {
      await other.stop();
    }
  });

  it('opens a schema again without migrating it again, and keeps what it holds', async () => {
    const schema = freshSchema('reopen');
    const store = await postgresStore({ connectionString: postgresUrl }, { schema });
    await store.createRun({ runId: 'kept', forkOf: null, messages: [] });
    await store.close();
    const again = await postgresStore({ connectionString: postgresUrl }, { schema });
    expect((await again.getRun('kept'))?.runId).toBe('kept');
    await again.close();
    expect(await sql(`SELECT version FROM ${schema}.migrations`)).toHaveLength(2);
  });

  it('keeps schemas with long names apart: two 63-character schemas on one pool, differing in their last letter', async () => {
    // Postgres cuts prepared statements' names at 63 bytes: named after the schema, a long schema's
    // `get` ran its `getMany`, and two such schemas on one pool read each other.
    const base = freshSchema('long').padEnd(62, 'x');
    const [one, two] = [`${base}a`, `${base}b`];
    const pool = new pg.Pool({ connectionString: postgresUrl, max: 1 });
    try {
      const first = await postgresStore({ pool }, { schema: one });
      const second = await postgresStore({ pool }, { schema: two });
      const run = createRuntime({ model: scriptedModel(() => ({ text: 'in one' })), store: first });
      expect((await run.start({ input: 'go', runId: 'only-in-one' }).result).output).toBe('in one');
      await run.close();
      expect((await first.getRun('only-in-one'))?.status).toBe('done');
      expect(await first.listCheckpoints({ runId: 'only-in-one' })).not.toHaveLength(0);
      expect(await second.getRun('only-in-one')).toBeUndefined();
      expect(await second.listRuns()).toEqual([]);
    } finally {
      await pool.end();
      for (const schema of [one, two]) await sql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    }
  });

  it('brings a schema of an earlier version up to date when it opens it, keeping what it holds', async () => {
    const schema = freshSchema('upgrade');
    const store = await postgresStore({ connectionString: postgresUrl }, { schema });
    await store.createRun({ runId: 'kept', forkOf: null, messages: [] });
    await store.close();
    // As the previous build left it: version 1 only.
    await sql(`DELETE FROM ${schema}.migrations WHERE version > 1`);
    const again = await postgresStore({ connectionString: postgresUrl }, { schema });
    expect((await again.getRun('kept'))?.runId).toBe('kept');
    await again.close();
    expect(await sql(`SELECT version FROM ${schema}.migrations ORDER BY version`)).toEqual([
      { version: 1 },
      { version: 2 },
    ]);
  });

  it('orders a write of a key a conditional batch checks after that batch: a fence moved meanwhile is never passed', async () => {
    // The old owner's write is fenced on the epoch key and writes 6 MB (a slow statement). Once it
    // holds a lock and runs, the new owner's claim, on another connection, checks only the run key
    // and moves the epoch on. Either the fenced write commits first, or it sees the new epoch and
    // fails: committed after the claim, it would have passed a fence that had moved.
    const schema = freshSchema('fence_order');
    // The old owner's pool has one connection: its locks are that connection's backend's.
    const [one, two] = [
      new pg.Pool({ connectionString: postgresUrl, max: 1 }),
      new pg.Pool({ connectionString: postgresUrl }),
    ];
    try {
      const oldOwner = await postgresKeyValue({ pool: one }, { schema });
      const newOwner = await postgresKeyValue({ pool: two }, { schema });
      const backend = (await one.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      await oldOwner.batch([
        { type: 'put', key: 'epoch', value: '1' },
        { type: 'put', key: 'run', value: 'v1' },
      ]);
      const results = Array.from({ length: 1500 }, (_, index) => ({
        type: 'put' as const,
        key: `result!${index}`,
        value: randomBytes(2048).toString('hex'),
      }));
      const order: string[] = [];
      const fenced = oldOwner
        .batchIf([{ key: 'epoch', value: '1' }], results)
        .then((applied) => order.push(`fenced ${applied}`));
      // The gate: the fenced write's statement holds a lock, so it runs.
      const locksHeld = async () =>
        (
          await sql<{ held: number }>(
            `SELECT count(*)::int AS held FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = $1`,
            [backend],
          )
        )[0]?.held ?? 0;
      while (order.length === 0 && (await locksHeld()) === 0) {}
      expect(order, 'the fenced write was still running when the claim was sent').toEqual([]);
      const claim = newOwner
        .batchIf(
          [{ key: 'run', value: 'v1' }],
          [
            { type: 'put', key: 'run', value: 'v2' },
            { type: 'put', key: 'epoch', value: '2' },
          ],
        )
        .then((applied) => order.push(`claim ${applied}`));
      await Promise.all([fenced, claim]);
      expect([
        ['fenced true', 'claim true'],
        ['claim true', 'fenced false'],
      ]).toContainEqual(order);
      expect(
        await oldOwner.batchIf([{ key: 'epoch', value: '1' }], [{ type: 'put', key: 'late', value: 'x' }]),
      ).toBe(false);
    } finally {
      await Promise.all([one.end(), two.end()]);
    }
  });

  it('refuses a schema made by a newer agentchart with STORE_ERROR, and changes nothing', async () => {
    const schema = freshSchema('newer');
    await (await postgresStore({ connectionString: postgresUrl }, { schema })).close();
    await sql(`INSERT INTO ${schema}.migrations (version, name) VALUES (99, 'from the future')`);
    const error = await postgresStore({ connectionString: postgresUrl }, { schema }).catch(
      (thrown) => thrown,
    );
    expect(error.code).toBe('STORE_ERROR');
    expect(error.message).toContain('version 99');
    expect(await sql(`SELECT version FROM ${schema}.migrations ORDER BY version`)).toEqual([
      { version: 1 },
      { version: 2 },
      { version: 99 },
    ]);
  });

  it('with create: false, fails a missing schema with STORE_NOT_FOUND and creates nothing', async () => {
    const schema = freshSchema('missing');
    expect(await codeOf(postgresStore({ connectionString: postgresUrl }, { schema, create: false }))).toBe(
      'STORE_NOT_FOUND',
    );
    expect(await schemaExists(schema)).toBe(false);
  });

  it('refuses bad input with typed errors, and an unreachable server with STORE_ERROR', async () => {
    expect(await codeOf(postgresStore({ connectionString: postgresUrl }, { schema: 'Robert"; DROP' }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(await codeOf(postgresStore({ connectionString: 'mysql://x' }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(openStore('postgres://[nonsense'))).toBe('INVALID_ARGUMENT');
    const unreachable = await postgresStore({
      connectionString: 'postgres://postgres@127.0.0.1:1/test',
    }).catch((thrown) => thrown);
    expect(unreachable.code).toBe('STORE_ERROR');
    expect(unreachable.message).toContain('127.0.0.1:1');
  });

  it('holds no connection while a run waits on its model: a pool of one serves two runs', async () => {
    const schema = freshSchema('pool');
    const pool = new pg.Pool({ connectionString: postgresUrl, max: 1 });
    const store = await postgresStore({ pool }, { schema });
    const slow = gate();
    const calls: string[] = [];
    const note = defineTool({
      name: 'note',
      description: 'Notes a word',
      input: z.object({ word: z.string() }),
      execute: async ({ word }) => {
        calls.push(word);
        return `noted ${word}`;
      },
    });
    const model = scriptedModel((request) => {
      const first = request.messages[0]?.content[0];
      const input = first?.type === 'text' ? first.text : '';
      const turn = request.messages.filter((message) => message.role === 'assistant').length;
      if (turn === 0)
        return {
          text: `Noting ${input}.`,
          toolCalls: [{ name: 'note', input: { word: input } }],
          ...(input === 'slow' ? { gate: slow.promise } : {}),
        };
      return { text: `Noted ${input}.` };
    });
    const runtime = createRuntime({ model, tools: [note], store });
    const waiting = runtime.start({ input: 'slow', runId: 'slow' });
    // The slow run's first turn waits on the gate; the other run needs the pool's one connection.
    const other = await runtime.start({ input: 'fast', runId: 'fast' }).result;
    expect(other.status).toBe('done');
    expect(calls).toEqual(['fast']);
    slow.open();
    expect((await waiting.result).status).toBe('done');
    expect(calls).toEqual(['fast', 'slow']);
    await runtime.close();
    await store.close();
    // A pool you pass is yours: the store leaves it open.
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await pool.end();
  });

  it('agentchart studio serves the runs of a Postgres store', async () => {
    const schema = freshSchema('studio');
    const store = await postgresStore({ connectionString: postgresUrl }, { schema });
    const runtime = createRuntime({ model: scriptedModel(() => ({ text: 'Hello from Postgres.' })), store });
    await runtime.start({ input: 'hi', runId: 'in-postgres' }).result;
    await runtime.close();
    await store.close();
    const child = spawn(
      process.execPath,
      [
        '--import',
        tsx,
        '--conditions=agentchart-source',
        join(repo, 'src/cli.ts'),
        '--store',
        `${postgresUrl}?schema=${schema}`,
        '--json',
        'studio',
        '--port',
        '0',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let output = '';
        child.stdout?.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('\n')) resolve(output.slice(0, output.indexOf('\n')));
        });
        child.once('exit', (code) => reject(new Error(`agentchart studio exited ${code}`)));
      });
      const { url } = JSON.parse(line) as { url: string };
      const runs = (await (await fetch(`${url}api/runs`)).json()) as { runId: string; status: string }[];
      expect(runs).toEqual([expect.objectContaining({ runId: 'in-postgres', status: 'done' })]);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('the CLI takes --store postgres://…?schema=NAME, and never creates a store there', async () => {
    const schema = freshSchema('cli');
    const store = await postgresStore({ connectionString: postgresUrl }, { schema });
    const runtime = createRuntime({ model: scriptedModel(() => ({ text: 'Hello from Postgres.' })), store });
    await runtime.start({ input: 'hi', runId: 'listed' }).result;
    await runtime.close();
    await store.close();
    const listed = await runCli(['--store', `${postgresUrl}?schema=${schema}`, '--json', 'runs', 'ls']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual(
      expect.arrayContaining([expect.objectContaining({ runId: 'listed', status: 'done' })]),
    );
    const missing = freshSchema('cli_missing');
    const refused = await runCli(['--store', `${postgresUrl}?schema=${missing}`, 'runs', 'ls']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('no store at postgres://');
    expect(await schemaExists(missing)).toBe(false);
  });
});
