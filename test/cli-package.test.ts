/**
 * The CLI as users get it: built and packed as for publishing, installed from the tarball into a
 * project of its own, and run through the bin npm links (`node_modules/.bin/agentchart`, `npx`).
 * This is the only test file that builds `dist/`.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRuntime } from 'agentchart';
import { levelStore } from 'agentchart/level';
import { scriptedModel } from 'agentchart/testing';
import { beforeAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'agentchart-package-'));
const project = join(dir, 'project');
const storePath = join(dir, 'store');
// As from a fresh shell: under `npm test`, npm's own variables (npm_config_*, npm_package_*) would
// steer the npm and npx started here towards this repository.
const env = Object.fromEntries(
  Object.entries(process.env).filter(
    ([key]) => !key.startsWith('ANTHROPIC_') && !key.toLowerCase().startsWith('npm_'),
  ),
);

/** Runs a program; resolves with its exit code and output (never rejects). */
function exec(
  file: string,
  args: string[],
  cwd: string,
  timeout = 30_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env, timeout }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }),
    );
  });
}

/** Runs npm and fails the test with npm's output when it fails. */
async function npm(args: string[], cwd: string): Promise<string> {
  const { code, stdout, stderr } = await exec('npm', args, cwd, 90_000);
  if (code !== 0) throw new Error(`npm ${args.join(' ')} exited ${code}:\n${stderr}`);
  return stdout;
}

beforeAll(async () => {
  await npm(['run', 'build'], repo);
  const [packed] = JSON.parse(await npm(['pack', '--json', '--pack-destination', dir], repo)) as {
    filename: string;
  }[];
  mkdirSync(project);
  // classic-level ships prebuilt binaries: its install script (node-gyp-build) has nothing to build.
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'a-user-project', private: true, allowScripts: { 'classic-level': false } }),
  );
  await npm(
    ['install', join(dir, packed?.filename ?? ''), '--no-audit', '--no-fund', '--prefer-offline'],
    project,
  );
  const store = await levelStore({ path: storePath });
  const runtime = createRuntime({ model: scriptedModel(() => ({ text: 'Hello.' })), store });
  await runtime.start({ input: 'hi', runId: 'packaged' }).result;
  await runtime.close();
  await store.close();
}, 120_000);

describe('the agentchart bin, installed from the packed tarball', () => {
  it('prints its help through the symlink npm makes in node_modules/.bin', async () => {
    const help = await exec(join(project, 'node_modules/.bin/agentchart'), ['--help'], project);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: agentchart');
  });

  it('lists the runs of a store with npx', async () => {
    // `--no`: never fetch a package of that name from the registry; the installed one must answer.
    const listed = await exec('npx', ['--no', 'agentchart', 'runs', 'ls', '--store', storePath], project);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^RUN\s+STATUS/);
    expect(listed.stdout).toMatch(/packaged\s+done/);
  });

  it('is dist/cli.js with a node shebang, and runs with plain node', async () => {
    const manifest = join(project, 'node_modules/agentchart/package.json');
    const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin: Record<string, string> };
    expect(bin).toEqual({ agentchart: 'dist/cli.js' });
    const script = join(project, 'node_modules/agentchart/dist/cli.js');
    expect(readFileSync(script, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const shown = await exec(
      process.execPath,
      [script, '--store', storePath, '--json', 'runs', 'show', 'packaged'],
      dir,
    );
    expect(JSON.parse(shown.stdout)).toMatchObject({ runId: 'packaged', status: 'done' });
  });

  it('serves the studio with `npx agentchart studio`: the page and its prebuilt app come from the package', async () => {
    const child = spawn('npx', ['--no', 'agentchart', 'studio', '--store', storePath, '--port', '0'], {
      cwd: project,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // A process group of its own: npx does not pass SIGTERM on to the studio it started.
      detached: true,
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let output = '';
        child.stdout?.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const printed = /http:\/\/127\.0\.0\.1:\d+\//.exec(output)?.[0];
          if (printed !== undefined) resolve(printed);
        });
        child.once('exit', (code) =>
          reject(new Error(`agentchart studio exited ${code} before printing its URL`)),
        );
      });
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>agentchart studio</title>');
      const script = await fetch(`${url}assets/app.js`);
      expect(script.status).toBe(200);
      expect((await script.text()).length).toBeGreaterThan(1000);
      const runs = (await (await fetch(`${url}api/runs`)).json()) as { runId: string }[];
      expect(runs.map((run) => run.runId)).toEqual(['packaged']);
    } finally {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
      await exited;
    }
  });
});
