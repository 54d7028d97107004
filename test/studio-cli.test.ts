/**
 * `agentchart studio`: the CLI (src/cli.ts, the bin's source) in a process of its own, serving the
 * studio over a LevelDB store, as a user starts it.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRuntime } from 'agentchart';
import { levelStore } from 'agentchart/level';
import { scriptedModel } from 'agentchart/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('..', import.meta.url));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const dir = mkdtempSync(join(tmpdir(), 'agentchart-studio-cli-'));
const storePath = join(dir, 'store');
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('ANTHROPIC_')));
const cliArgs = (args: string[]) => [
  '--import',
  tsx,
  '--conditions=agentchart-source',
  join(repo, 'src/cli.ts'),
  ...args,
];

beforeAll(async () => {
  const store = await levelStore({ path: storePath });
  const runtime = createRuntime({ model: scriptedModel(() => ({ text: 'Hello from the store.' })), store });
  await runtime.start({ input: 'hi', runId: 'stored-run' }).result;
  await runtime.close();
  await store.close();
});

let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill('SIGKILL');
  child = undefined;
});

/** Starts `agentchart studio`; resolves with the first line it prints on stdout. */
function startStudio(args: string[]): Promise<{ line: string; exited: Promise<number | null> }> {
  const started = spawn(process.execPath, cliArgs(args), {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = started;
  const exited = new Promise<number | null>((resolve) => started.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let output = '';
    let errors = '';
    started.stderr?.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    started.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const end = output.indexOf('\n');
      if (end !== -1) resolve({ line: output.slice(0, end), exited });
    });
    void exited.then((code) =>
      reject(new Error(`agentchart studio exited ${code} before printing a URL:\n${errors}`)),
    );
  });
}

/** A GET with a Host header of our choosing (fetch does not let one set it). */
function getWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(url, { headers: { host } }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
}

describe('agentchart studio', { timeout: 60_000 }, () => {
  it('prints a URL on 127.0.0.1 that serves the app and the store runs, and stops on SIGTERM', async () => {
    const { line, exited } = await startStudio(['--store', storePath, 'studio', '--port', '0']);
    expect(line).toMatch(/^agentchart studio: http:\/\/127\.0\.0\.1:\d+\/ /);
    const url = line.split(' ')[2] ?? '';
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>agentchart studio</title>');
    expect((await fetch(`${url}assets/app.js`)).status).toBe(200);
    const runs = (await (await fetch(`${url}api/runs`)).json()) as { runId: string; status: string }[];
    expect(runs).toEqual([expect.objectContaining({ runId: 'stored-run', status: 'done' })]);
    // A page of another site whose name points at 127.0.0.1 (DNS rebinding) is refused.
    expect(await getWithHost(`${url}api/runs`, 'evil.example')).toBe(403);
    child?.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('prints its URL as JSON with --json', async () => {
    const { line } = await startStudio(['--store', storePath, '--json', 'studio', '--port', '0']);
    const { url } = JSON.parse(line) as { url: string };
    expect((await fetch(url)).status).toBe(200);
  });

  it('exits 3 for a mistyped store, and creates no folder', async () => {
    const missing = join(dir, 'no-such-store');
    const result = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        cliArgs(['--store', missing, 'studio', '--port', '0']),
        { cwd: dir, env },
        (error, _, stderr) => resolve({ code: error === null ? 0 : Number(error.code ?? 1), stderr }),
      ),
    );
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('STORE_NOT_FOUND');
    expect(existsSync(missing)).toBe(false);
  });

  it('refuses a port that is not a number with exit 2', async () => {
    const result = await new Promise<number>((resolve) =>
      execFile(
        process.execPath,
        cliArgs(['--store', storePath, 'studio', '--port', 'eighty']),
        { cwd: dir, env },
        (error) => resolve(error === null ? 0 : Number(error.code ?? 1)),
      ),
    );
    expect(result).toBe(2);
  });
});
