/**
 * Starts the cluster example: one API process and two workers, each a child process whose output is
 * prefixed with its name. Ctrl-C (or SIGTERM) stops them all: the workers hand their live runs back.
 * Needs Redis and PostgreSQL (see examples/cluster/config.ts for where).
 *
 *   npm run cluster
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const processes = [
  ['api', 'api.ts'],
  ['worker-1', 'worker.ts'],
  ['worker-2', 'worker.ts'],
] as const;
const width = Math.max(...processes.map(([name]) => name.length));

let stopping = false;
const children = processes.map(([name, file]) => {
  const child = spawn(
    process.execPath,
    ['--import', tsx, '--conditions=agentchart-source', fileURLToPath(new URL(file, import.meta.url))],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const prefix = `[${name.padEnd(width)}]`;
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      console.log(`${prefix} ${line}`);
      const listening = /listening on (http:\/\/\S+)/.exec(line);
      if (name === 'api' && listening !== null) announce(listening[1] ?? '');
    });
  }
  child.once('exit', (code, signal) => {
    console.log(`${prefix} exited (${signal ?? code})`);
    if (!stopping) stop(1);
  });
  return child;
});

function announce(url: string): void {
  console.log(`\nThe cluster is up: API on ${url}, two workers. Try:\n`);
  console.log(`  curl -s ${url}/runs -d '{"input":"Hello"}'`);
  console.log(`  curl -N ${url}/runs/RUN_ID/events\n`);
  console.log('Ctrl-C stops all three.\n');
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once('exit', () => resolve()));

function stop(code: number): void {
  if (stopping) return;
  stopping = true;
  // Ctrl-C in a terminal reaches the children too; their handlers are idempotent.
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  void Promise.all(children.map(exited)).then(() => process.exit(code));
}
// `on`, not `once`: a second signal (from npm or tsx relaying it) must not cut the shutdown short.
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
