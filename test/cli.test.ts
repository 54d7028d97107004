import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRuntime, type RunHandle } from 'agentchart';
import { levelStore } from 'agentchart/level';
import { beforeAll, describe, expect, it } from 'vitest';
import config from './fixtures/cli-config.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const dir = mkdtempSync(join(tmpdir(), 'agentchart-cli-'));
const storePath = join(dir, 'store');

/** Runs the CLI (src/cli.ts, the bin's source) in a fresh process; resolves with its exit code and output. */
function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('ANTHROPIC_')),
  );
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
      { cwd: dir, env, timeout: 30_000 },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }),
    );
  });
}

/** The CLI with the runs' tools and model (`--config test/fixtures/cli-config.ts`). */
const cli = (...args: string[]) => runCli(['--config', join(repo, 'test/fixtures/cli-config.ts'), ...args]);
/** The CLI without `--config`: its runtime has none of the runs' tools. */
const cliWithoutTools = (...args: string[]) => runCli(args);

/** Resolves once the wall clock has moved on (run records are stamped with it), without a timer. */
async function nextMillisecond(): Promise<void> {
  const start = Date.now();
  while (Date.now() === start) await new Promise((resolve) => setImmediate(resolve));
}

/** The id of the first request a run waits on. */
const requestOf = (run: RunHandle) =>
  new Promise<string>((resolve) =>
    run.events$.subscribe((event) => event.type === 'input-request' && resolve(event.request.requestId)),
  );

let approvalId = '';
let deltaApprovalId = '';
let epsilonQuestionId = '';
beforeAll(async () => {
  const store = await levelStore({ path: storePath });
  const runtime = createRuntime({ ...config, model: config.model as never, store });
  // Runs created in different milliseconds, in another order than their ids': alpha, gamma, beta, delta, epsilon.
  await runtime.start({ input: 'hello', runId: 'alpha' }).result;
  await nextMillisecond();
  await runtime.start({ input: 'hello', runId: 'gamma' }).result;
  await nextMillisecond();
  approvalId = await requestOf(runtime.start({ input: 'send it', runId: 'beta' }));
  await nextMillisecond();
  deltaApprovalId = await requestOf(runtime.start({ input: 'send later', runId: 'delta' }));
  await nextMillisecond();
  epsilonQuestionId = await requestOf(runtime.start({ input: 'ask', runId: 'epsilon' }));
  await runtime.close();
  await store.close();
});

// Each call starts a process that compiles the CLI with tsx (a second or two on a busy machine).
describe('the agentchart CLI', { timeout: 60_000 }, () => {
  it('lists runs as a table and as JSON, and shows one', async () => {
    const table = await cli('runs', 'ls');
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^RUN\s+STATUS\s+STEP/);
    expect(table.stdout).toMatch(/alpha\s+done/);
    expect(table.stdout).toMatch(/beta\s+waiting_input/);
    const json = JSON.parse((await cli('--json', 'runs', 'ls', '--status', 'done')).stdout) as {
      runId: string;
    }[];
    expect(json.map((run) => run.runId).sort()).toEqual(['alpha', 'gamma']);
    // Newest first, and --limit keeps the newest.
    const ids = async (...args: string[]) =>
      (JSON.parse((await cli('--json', 'runs', 'ls', ...args)).stdout) as { runId: string }[]).map(
        (run) => run.runId,
      );
    expect(await ids()).toEqual(['epsilon', 'delta', 'beta', 'gamma', 'alpha']);
    expect(await ids('--limit', '2')).toEqual(['epsilon', 'delta']);
    expect(table.stdout.split('\n')[1]).toMatch(/^epsilon\s/);
    const shown = await cli('runs', 'show', 'beta');
    expect(shown.stdout).toContain(`waits on  approval ${approvalId}`);
  });

  it('lists, shows, exports and removes checkpoints', async () => {
    const list = JSON.parse(
      (await cli('--json', 'checkpoints', 'ls', '--run', 'alpha', '--limit', '2')).stdout,
    ) as { id: string }[];
    expect(list).toHaveLength(2);
    const shown = await cli('checkpoints', 'show', 'alpha@0');
    expect(shown.stdout).toContain('checkpoint alpha@0 of run alpha, step 0');
    expect(shown.stdout).toMatch(/user\s+hello/);
    const file = join(dir, 'alpha.json');
    expect((await cli('checkpoints', 'export', 'alpha@1', file)).code).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ id: 'alpha@1', runId: 'alpha' });
    expect((await cli('checkpoints', 'rm', 'gamma@0')).stdout).toContain('removed gamma@0');
    const again = await cli('checkpoints', 'rm', 'gamma@0');
    expect([again.code, again.stderr]).toEqual([
      3,
      "agentchart: CHECKPOINT_NOT_FOUND: No checkpoint 'gamma@0' in the store\n",
    ]);
  });

  it('exports into a folder as ID.json, says when a folder is missing, and never leaves a partial file', async () => {
    const exports = join(dir, 'exports');
    mkdirSync(exports);
    expect((await cli('checkpoints', 'export', 'alpha@1', exports)).code).toBe(0);
    expect((await cli('checkpoints', 'export', 'alpha@0', `${exports}/`)).stdout).toBe(
      `exported alpha@0 to ${join(exports, 'alpha@0.json')}\n`,
    );
    expect(readdirSync(exports).sort()).toEqual(['alpha@0.json', 'alpha@1.json']);
    expect(JSON.parse(readFileSync(join(exports, 'alpha@1.json'), 'utf8'))).toMatchObject({ id: 'alpha@1' });

    const missing = await cli('checkpoints', 'export', 'alpha@1', join(dir, 'missing', 'alpha.json'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`no folder '${join(dir, 'missing')}'`);
    expect((await cli('checkpoints', 'export', 'alpha@1', `${join(dir, 'missing')}/`)).code).toBe(2);

    // A target the rename cannot replace (a folder that holds a file): the export fails, and removes its partial file.
    const blocked = join(dir, 'blocked');
    mkdirSync(join(blocked, 'alpha@1.json'), { recursive: true });
    writeFileSync(join(blocked, 'alpha@1.json', 'keep'), '');
    const failed = await cli('checkpoints', 'export', 'alpha@1', blocked);
    expect(failed.code).toBe(1);
    expect(readdirSync(blocked)).toEqual(['alpha@1.json']);
    expect(readdirSync(dir).filter((name) => name.endsWith('.partial'))).toEqual([]);
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });

  it('shows a history, forks a checkpoint with another prompt, and diffs the two runs', async () => {
    const fork = await cli('--json', 'fork', 'alpha@0', '--system-prompt', 'be formal');
    expect(fork.code).toBe(0);
    const events = fork.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; runId: string; result?: { output: string } });
    const end = events.find((event) => event.type === 'run-end');
    expect(end?.result?.output).toBe('Answer to "hello" (be formal).');
    const history = await cli('history', 'alpha');
    expect(history.stdout).toMatch(/^run alpha \(done\)/);
    expect(history.stdout).toContain(`fork ${end?.runId} from alpha@0`);
    const diff = await cli('diff', 'alpha', end?.runId ?? '');
    expect(diff.stdout).toContain('common ancestor: alpha@0');
    expect(diff.stdout).toContain('- Answer to "hello" (be brief).');
    expect(diff.stdout).toContain('+ Answer to "hello" (be formal).');
  });

  it('resumes a waiting run (it says what it waits on), then answers it and streams it to the end', async () => {
    const resumed = await cli('resume', 'beta');
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain(`? approval ${approvalId}`);
    expect(resumed.stderr).toContain(`agentchart answer beta ${approvalId} approve|reject`);
    const badValue = await cli('answer', 'beta', approvalId, 'maybe');
    expect(badValue.code).toBe(2);
    const answered = await cli('answer', 'beta', approvalId, 'approve');
    expect(answered.code).toBe(0);
    expect(answered.stdout).toContain('Answer to "send it" (be brief).');
    expect(answered.stderr).toContain('← send {"sentTo":"ada"}');
    expect(answered.stderr).toContain('beta: done');
    const again = await cli('answer', 'beta', approvalId, 'approve');
    expect(again.code).toBe(3);
  });

  it("refuses to approve or answer without the run's tools (no --config), and the run keeps waiting", async () => {
    const approved = await cliWithoutTools('answer', 'delta', deltaApprovalId, 'approve');
    expect(approved.code).toBe(5);
    expect(approved.stderr).toContain("agentchart: TOOL_NOT_FOUND: Request '");
    expect(approved.stderr).toContain("is for tool 'send'");
    expect(approved.stderr).toContain('--config');
    expect((await cli('runs', 'show', 'delta')).stdout).toContain(`waits on  approval ${deltaApprovalId}`);
    const answered = await cliWithoutTools('answer', 'epsilon', epsilonQuestionId, 'Ada');
    expect(answered.code).toBe(5);
    expect(answered.stderr).toContain("is for tool 'ask_user'");
    // With its tools, the question is answered; a rejection runs nothing, so it needs no tool.
    const withTools = await cli('answer', 'epsilon', epsilonQuestionId, 'Ada');
    expect([withTools.code, withTools.stdout]).toEqual([0, 'Answer to "ask" (be brief).\n']);
    const rejected = await cliWithoutTools('answer', 'delta', deltaApprovalId, 'reject');
    expect(rejected.code).toBe(0);
    expect(rejected.stderr).toContain('delta: done');
  });

  it('says what is wrong, with exit codes that mean something', async () => {
    expect((await cli('runs', 'show', 'nope')).code).toBe(3);
    const noRun = await cli('checkpoints', 'ls', '--run', 'nope');
    expect([noRun.code, noRun.stderr]).toEqual([
      3,
      "agentchart: RUN_NOT_FOUND: No run 'nope' in the store\n",
    ]);
    const badStatus = await cli('runs', 'ls', '--status', 'finished');
    expect(badStatus.code).toBe(2);
    expect(badStatus.stderr).toContain(
      "--status must be one of active, paused, waiting_input, done, failed, cancelled; got 'finished'",
    );
    const unknown = await cli('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    // Checked before the store is opened: a mistyped command says so even where there is no store.
    const nowhere = join(dir, 'nowhere');
    expect((await cli('--store', nowhere, 'frobnicate')).code).toBe(2);
    expect((await cli('--store', nowhere, 'runs', 'show')).stderr).toContain(
      'usage: agentchart runs show RUN',
    );
    expect((await cli('checkpoints', 'ls', '--limit', 'x')).code).toBe(2);
    expect((await cli('runs', 'ls', '--limit')).code).toBe(2);
    // A folder with files but no LevelDB store in it: damaged, a code of its own.
    const damaged = join(dir, 'damaged');
    mkdirSync(damaged);
    writeFileSync(join(damaged, 'notes.txt'), 'not a store');
    const corrupt = await cli('--store', damaged, 'runs', 'ls');
    expect(corrupt.code).toBe(7);
    expect(corrupt.stderr).toContain('agentchart: STORE_CORRUPT: ');
    expect((await cli('--json', 'runs', 'show', 'nope')).stdout).toContain('"code":"RUN_NOT_FOUND"');
    expect((await cli('--help')).stdout).toContain('Usage: agentchart');
  });

  it('says so when the store is locked by a running service', async () => {
    const store = await levelStore({ path: storePath });
    try {
      const locked = await cli('runs', 'ls');
      expect(locked.code).toBe(4);
      expect(locked.stderr).toContain(
        `The store at ${storePath} is in use by another process (a running service?)`,
      );
    } finally {
      await store.close();
    }
  });
});
