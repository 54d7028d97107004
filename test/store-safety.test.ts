import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AgentchartError, type CheckpointStore, createRuntime, defineTool, type Runtime } from 'agentchart';
import { levelKeyValue, levelStore } from 'agentchart/level';
import { scriptedModel } from 'agentchart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

const tempDir = (name: string) => mkdtempSync(join(tmpdir(), `agentchart-${name}-`));
const repo = fileURLToPath(new URL('..', import.meta.url));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** Every file of a folder with its size and modification time: what "nothing changed" compares. */
function listing(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .map((name) => {
      const stat = statSync(join(dir, name));
      return `${name} ${stat.size} ${stat.mtimeMs}`;
    });
}

/** A LevelDB store folder with about 3 MB of runs in `.ldb` files (written, closed, reopened, closed). */
async function bigStore(): Promise<string> {
  const path = join(tempDir('big'), 'store');
  const kv = await levelKeyValue(path);
  for (let batch = 0; batch < 30; batch++) {
    await kv.batch(
      Array.from({ length: 100 }, (_, index) => ({
        type: 'put' as const,
        key: `blob!${batch}-${index}`,
        value: randomBytes(512).toString('hex'),
      })),
    );
  }
  await kv.close();
  const reopened = await levelStore({ path });
  await reopened.createRun({ runId: 'kept', forkOf: null, messages: [] });
  await reopened.close();
  const again = await levelStore({ path });
  await again.close();
  expect(readdirSync(path).some((name) => name.endsWith('.ldb'))).toBe(true);
  return path;
}

function cli(
  storePath: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [
        '--import',
        tsx,
        '--conditions=agentchart-source',
        join(repo, 'src/cli.ts'),
        '--store',
        storePath,
        ...args,
      ],
      { timeout: 30_000 },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }),
    );
  });
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    return AgentchartError.isInstance(error) ? error.code : String(error);
  }
}

describe('opening a LevelDB store never costs data', () => {
  it('refuses a folder with data but no CURRENT file with STORE_CORRUPT, and changes nothing in it', async () => {
    const original = await bigStore();
    const copy = join(tempDir('copy'), 'store');
    cpSync(original, copy, { recursive: true });
    rmSync(join(copy, 'CURRENT'));
    const before = listing(copy);

    const error = await levelStore({ path: copy }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(AgentchartError.isInstance(error) && error.code).toBe('STORE_CORRUPT');
    expect((error as Error).message).toContain(copy);
    expect((error as Error).message).toMatch(/CURRENT/);
    expect(listing(copy)).toEqual(before);

    const listed = await cli(copy, 'runs', 'ls');
    expect(listed.code).not.toBe(0);
    expect(listed.stderr).toContain('STORE_CORRUPT');
    expect(listing(copy)).toEqual(before);
  });

  it('opens the untouched original with all its data', async () => {
    const path = await bigStore();
    const store = await levelStore({ path });
    expect(await store.getRun('kept')).toMatchObject({ runId: 'kept' });
    await store.close();
  });

  it('creates a store only in a missing or empty folder', async () => {
    const parent = tempDir('new');
    const missing = join(parent, 'missing');
    const empty = join(parent, 'empty');
    mkdirSync(empty);
    for (const path of [missing, empty]) {
      const store = await levelStore({ path });
      await store.createRun({ runId: 'r', forkOf: null, messages: [] });
      await store.close();
    }
    const notAStore = join(parent, 'notes');
    mkdirSync(notAStore);
    writeFileSync(join(notAStore, 'todo.txt'), 'buy milk');
    expect(await codeOf(levelStore({ path: notAStore }))).toBe('STORE_CORRUPT');
    expect(readdirSync(notAStore)).toEqual(['todo.txt']);
    const aFile = join(notAStore, 'todo.txt');
    expect(await codeOf(levelStore({ path: aFile }))).toBe('STORE_ERROR');
  });

  it('opens without creating when asked to (create: false): STORE_NOT_FOUND for a missing or empty folder', async () => {
    const parent = tempDir('nocreate');
    const missing = join(parent, 'typo');
    expect(await codeOf(levelStore({ path: missing, create: false }))).toBe('STORE_NOT_FOUND');
    expect(existsSync(missing)).toBe(false);
  });

  it('the CLI never creates a store: a mistyped --store exits 3 with "no store at PATH"', async () => {
    const parent = tempDir('cli-typo');
    const typo = join(parent, 'nested', 'typo');
    for (const args of [
      ['runs', 'ls'],
      ['checkpoints', 'ls'],
      ['runs', 'show', 'x'],
    ]) {
      const { code, stderr } = await cli(typo, ...args);
      expect(code).toBe(3);
      expect(stderr).toContain(`no store at ${typo}`);
    }
    expect(readdirSync(parent)).toEqual([]);
  });
});

/** Every `.ldb` file of a folder, with its size and a hash of its bytes. */
function tableFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.ldb'))
    .sort()
    .map((name) => {
      const bytes = readFileSync(join(dir, name));
      return `${name} ${bytes.length} ${createHash('sha256').update(bytes).digest('hex')}`;
    });
}

/**
 * The files of a folder with their sizes, as far as opening LevelDB leaves them alone: every open
 * starts a new write-ahead log and manifest (new numbers, the old ones deleted) and rotates its info
 * log, so those are listed by kind.
 */
function listingShape(dir: string): string[] {
  return readdirSync(dir)
    .map((name) => {
      if (/^\d+\.log$/.test(name)) return 'NNNNNN.log';
      if (/^MANIFEST-\d+$/.test(name)) return 'MANIFEST-NNNNNN';
      if (name === 'LOG' || name === 'LOG.old') return name;
      return `${name} ${statSync(join(dir, name)).size}`;
    })
    .sort();
}

/**
 * Damages every `.ldb` file the same way: 512 random bytes at every 1 KB, counted back from the end
 * of the file, so that each table's footer (its last 48 bytes, which end with LevelDB's magic
 * number) is among them, and so is a part of every block. The sizes stay as they were.
 */
function damageTables(dir: string): void {
  for (const name of readdirSync(dir).filter((file) => file.endsWith('.ldb'))) {
    const file = join(dir, name);
    const size = statSync(file).size;
    const fd = openSync(file, 'r+');
    for (let end = size; end > 0; end -= 1024) {
      const start = Math.max(0, end - 512);
      writeSync(fd, randomBytes(end - start), 0, end - start, start);
    }
    closeSync(fd);
  }
}

/** The error a read rejects with (undefined if it resolves). */
async function failureOf(read: Promise<unknown>): Promise<unknown> {
  return read.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('a LevelDB store whose tables are damaged on disk', () => {
  const path = join(tempDir('corrupt'), 'store');
  let before: string[] = [];
  let beforeListing: string[] = [];
  let runtime: Runtime;
  let store: CheckpointStore;

  beforeAll(async () => {
    // Three rounds of 100 runs, each in a store opened anew: opening writes the last round's log into
    // a table of its own, so that the data sits in several .ldb files.
    for (let round = 0; round < 3; round++) {
      const written = await levelStore({ path });
      const healthy = createRuntime({
        model: scriptedModel(() => ({ text: `a long answer ${'x'.repeat(2000)}` })),
        store: written,
      });
      for (let index = round * 100; index < (round + 1) * 100; index++)
        await healthy.start({ input: `q${index}`, runId: `r${index}` }).result;
      await healthy.close();
      await written.close();
    }
    await (await levelStore({ path })).close();
    expect(tableFiles(path).length).toBeGreaterThanOrEqual(3);
    damageTables(path);
    before = tableFiles(path);
    beforeListing = listingShape(path);
    store = await levelStore({ path });
    runtime = createRuntime({ model: scriptedModel([]), store });
  });
  afterAll(async () => {
    await runtime.close();
    await store.close();
  });

  /** Expects STORE_CORRUPT, with LevelDB's reason in the message and its error as the cause. */
  function expectCorrupt(error: unknown): void {
    expect(AgentchartError.isInstance(error) && error.code).toBe('STORE_CORRUPT');
    expect((error as Error).message).toContain('Corruption');
    expect((error as Error).cause).toBeDefined();
  }

  it('runtime.runs.list fails with STORE_CORRUPT and LevelDB’s reason', async () => {
    expectCorrupt(await failureOf(runtime.runs.list()));
  });

  it('runtime.runs.get fails with STORE_CORRUPT and LevelDB’s reason', async () => {
    expectCorrupt(await failureOf(runtime.runs.get('r150')));
  });

  it('runtime.checkpoints.list fails with STORE_CORRUPT and LevelDB’s reason', async () => {
    expectCorrupt(await failureOf(runtime.checkpoints.list()));
  });

  it('runtime.events errors with STORE_CORRUPT and LevelDB’s reason', async () => {
    const read = new Promise<void>((resolve, reject) => {
      runtime.events('r150').subscribe({ complete: resolve, error: reject });
    });
    expectCorrupt(await failureOf(read));
  });

  it('the CLI’s runs ls exits non-zero and prints the cause', async () => {
    await runtime.close();
    await store.close();
    const { code, stderr } = await cli(path, 'runs', 'ls');
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/STORE_CORRUPT.*Corruption/s);
  });

  it('leaves the folder as it was: the same files, and every table with the same size and bytes', () => {
    expect(listingShape(path)).toEqual(beforeListing);
    expect(tableFiles(path)).toEqual(before);
  });
});

describe('two store objects on one folder', () => {
  const send = (sent: string[]) =>
    defineTool({
      name: 'send_email',
      description: 'Sends an email',
      input: z.object({ to: z.string() }),
      execute: ({ to }) => {
        sent.push(to);
        return `sent to ${to}`;
      },
    });
  const model = () =>
    scriptedModel((request) =>
      request.messages.some((message) => message.content.some((block) => block.type === 'tool-result'))
        ? { text: 'Sent.' }
        : { toolCalls: [{ name: 'send_email', input: { to: 'ada@example.com' } }] },
    );

  it('never runs a finished side effect twice, nor overwrites the other runtime’s checkpoints', async () => {
    const path = join(tempDir('two'), 'store');
    const sent: string[] = [];
    const storeA = await levelStore({ path });
    const storeB = await levelStore({ path });
    const a = createRuntime({ model: model(), tools: [send(sent)], store: storeA });
    const b = createRuntime({ model: model(), tools: [send(sent)], store: storeB });

    const run = a.start({ input: 'email ada', runId: 'p' });
    await run.pause();
    await run.unload();
    const inB = await b.resume('p');
    expect(await inB.result).toMatchObject({ status: 'done' });
    expect(sent).toEqual(['ada@example.com']);
    const contents = new Map<string, string>();
    for (const meta of await b.checkpoints.list({ runId: 'p' }))
      contents.set(meta.id, JSON.stringify(await b.checkpoints.get(meta.id)));

    expect(await codeOf(a.resume('p'))).toMatch(/^(RUN_ENDED|CONCURRENCY)$/);
    expect(sent).toEqual(['ada@example.com']);
    for (const [id, content] of contents) expect(JSON.stringify(await a.checkpoints.get(id))).toBe(content);
    expect((await a.checkpoints.list({ runId: 'p' })).length).toBe(contents.size);
    await a.close();
    await b.close();
    await storeA.close();
    await storeB.close();
  });
});

describe('deleting the newest checkpoints', () => {
  it('moves the head back atomically, and the run resumes from there to the same answer', async () => {
    const path = join(tempDir('delete'), 'store');
    const store = await levelStore({ path });
    const script = scriptedModel((request) => {
      const results = request.messages.filter((message) => message.role === 'user').length - 1;
      return results < 2
        ? { toolCalls: [{ name: 'add', input: { a: results, b: 1 }, id: `add-${results}` }] }
        : { text: 'Done adding.' };
    });
    const add = defineTool({
      name: 'add',
      description: 'Adds',
      input: z.object({ a: z.number(), b: z.number() }),
      execute: ({ a, b }) => a + b,
    });
    const runtime = createRuntime({ model: script, tools: [add], store });
    expect(await runtime.start({ input: 'add', runId: 'd' }).result).toMatchObject({ status: 'done' });
    const ids = (await runtime.checkpoints.list({ runId: 'd', order: 'asc' })).map((meta) => meta.id);
    const [head, beforeHead] = [ids.at(-1) as string, ids.at(-2) as string];
    expect(await runtime.checkpoints.delete(head)).toBe(true);
    expect(await runtime.checkpoints.delete(beforeHead)).toBe(true);
    const record = await runtime.runs.get('d');
    expect(record?.headCheckpointId).toBe(ids.at(-3));
    await runtime.checkpoints.get(record?.headCheckpointId as string);
    expect(record?.status).toBe('active');

    const calls = script.requests.length;
    const resumed = await runtime.resume('d');
    expect(await resumed.result).toMatchObject({ status: 'done', output: 'Done adding.' });
    expect(script.requests.length).toBeGreaterThan(calls);
    // New checkpoints take new ids: an id never names two contents.
    const after = (await runtime.checkpoints.list({ runId: 'd', order: 'asc' })).map((meta) => meta.id);
    expect(after).not.toContain(head);
    expect(after).not.toContain(beforeHead);
    await runtime.close();

    // In a new process (runtime) too.
    const again = createRuntime({ model: script, tools: [add], store });
    const newest = after.at(-1) as string;
    await again.checkpoints.delete(newest);
    expect(await (await again.resume('d')).result).toMatchObject({ status: 'done', output: 'Done adding.' });
    await again.close();
    await store.close();
  });

  it('marks a store failure that would repeat as not recoverable', async () => {
    const store = await levelStore({ path: join(tempDir('repeat'), 'store') });
    const runtime = createRuntime({
      model: scriptedModel([{ text: 'one' }]),
      store,
    });
    const run = runtime.start({ input: 'x', runId: 'r' });
    await run.pause();
    // Another writer moves the run on: this runtime's next write is stale and would stay stale.
    const record = await store.getRun('r');
    await store.setRunStatus('r', 'paused', record?.version as number);
    await run.resume();
    const result = await run.result;
    expect(result).toMatchObject({
      status: 'failed',
      error: { errorClass: 'store_error', recoverable: false },
    });
    await runtime.close();
    await store.close();
  });
});
