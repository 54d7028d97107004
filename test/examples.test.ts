import { execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { startFakeAnthropicServer } from 'agentchart/testing';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { dropSchemas, freshSchema, postgresUnavailable, postgresUrl } from './fixtures/postgres.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('..', import.meta.url));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !key.startsWith('ANTHROPIC_')),
);

/** Runs an example in a fresh working directory (so its LevelDB store starts empty and stays out of the repo). */
function runExample(file: string, env: Record<string, string> = {}) {
  return run(process.execPath, ['--import', tsx, '--conditions=agentchart-source', join(repo, file)], {
    cwd: mkdtempSync(join(tmpdir(), 'agentchart-example-')),
    env: { ...cleanEnv, ...env },
    timeout: 30_000,
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** What each example prints, on any store. */
const expectedOutputs: Record<string, (stdout: string) => void> = {
  'examples/quickstart.ts': (stdout) => {
    expect(stdout).toContain('a scripted model stands in for Claude');
    expect(stdout).toContain('-> get_weather({"city":"Paris"})');
    expect(stdout).toContain('<- {"sky":"sunny","celsius":19}');
    expect(stdout).toContain('status: done, turns: 2');
  },
  'examples/resume-after-crash.ts': (stdout) => {
    expect(stdout).toContain('Child ended by SIGKILL');
    expect(stdout).toContain('booking-lisbon: from the journal, not run again');
    expect(stdout).toContain('"deduplicated":true');
    expect(stdout).toContain('All 4 hotels are booked. (status: done, turns: 4)');
    expect(stdout).toContain('Bookings made: 4 for 4 cities');
  },
  'examples/approval.ts': (stdout) => {
    expect(stdout).toContain('[input] Which invoice should I pay?');
    expect(stdout).toContain('refused answer: INPUT_INVALID');
    expect(stdout).toContain('the run is waiting_input in the store');
    expect(stdout).toContain('pay_invoice -> {"invoice":"INV-7","amountEur":950,"status":"paid"}');
    expect(stdout).toMatch(/Invoice INV-7 \(950 EUR\) is paid\. \(status: done, turns: 3, cost: \$0\.0\d+\)/);
  },
  'examples/ab-test-prompts.ts': (stdout) => {
    expect(stdout).toContain('common ancestor: baseline@0');
    expect(stdout).toContain('  - A cappuccino is about 3 EUR.');
    expect(stdout).toContain('  + A cappuccino is 3.40 EUR.');
    expect(stdout).toContain(
      'tool calls only in the careful branch: [{"toolName":"lookup_price","input":{"drink":"cappuccino"}}]',
    );
    expect(stdout).toContain("baseline's branches: 2");
    expect(stdout).toContain('same states: true, same answer: true');
  },
  'examples/chat-session.ts': (stdout) => {
    expect(stdout).toContain('v3 Thanks! -> (3 questions so far) You said: Thanks!');
    expect(stdout).toContain('history the next run sees: 4 of 6 messages');
    expect(stdout).toMatch(/committed req-[ab] as v4\n/);
    expect(stdout).toContain('conflict: expected v3, session is at v4');
    expect(stdout).toContain('both committed (v5, v6), in 1 and 2 attempts');
    expect(stdout).toContain('after restart: v6, 12 messages');
    expect(stdout).toContain('v7 Still there? -> (3 questions so far) You said: Still there?');
  },
};

function expectOutput(file: string, stdout: string): void {
  expectedOutputs[file]?.(stdout);
}

describe('examples', () => {
  const servers: { close(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const server of servers) await server.close();
  });

  it('quickstart runs on the scripted model without an API key', async () => {
    expectOutput('examples/quickstart.ts', (await runExample('examples/quickstart.ts')).stdout);
  });

  it('quickstart talks to the Messages API when ANTHROPIC_API_KEY is set', async () => {
    const server = await startFakeAnthropicServer([
      { text: 'Checking.', toolCalls: [{ name: 'get_weather', input: { city: 'Oslo' } }] },
      { text: 'Oslo has snow.' },
    ]);
    servers.push(server);
    const { stdout } = await runExample('examples/quickstart.ts', {
      ANTHROPIC_API_KEY: 'sk-test',
      ANTHROPIC_BASE_URL: server.url,
    });
    expect(stdout).not.toContain('scripted model');
    expect(stdout).toContain('<- {"sky":"snow","celsius":-3}');
    expect(stdout).toContain('Oslo has snow.');
    expect(server.requests[0]?.headers.authorization).toBe('Bearer sk-test');
  });

  it('resume-after-crash recovers a run killed with SIGKILL, without repeating completed tool calls', async () => {
    expectOutput(
      'examples/resume-after-crash.ts',
      (await runExample('examples/resume-after-crash.ts')).stdout,
    );
  });

  it('approval asks the user, refuses a bad answer, and takes an approval after a restart', async () => {
    expectOutput('examples/approval.ts', (await runExample('examples/approval.ts')).stdout);
  });

  it('ab-test-prompts forks two branches, compares them, shows a history and replays it', async () => {
    expectOutput('examples/ab-test-prompts.ts', (await runExample('examples/ab-test-prompts.ts')).stdout);
  });

  it('chat-session holds a bounded conversation, resolves a race, and continues after a restart', async () => {
    expectOutput('examples/chat-session.ts', (await runExample('examples/chat-session.ts')).stdout);
  });

  it('the service starts with `npm run serve` on the embedded default, answers, and stops on SIGTERM', async () => {
    const port = await freePort();
    const cwd = mkdtempSync(join(tmpdir(), 'agentchart-serve-'));
    const child = spawn('npm', ['run', '--silent', '--prefix', repo, 'serve'], {
      cwd,
      env: { ...cleanEnv, PORT: String(port), AGENTCHART_STORE: join(cwd, 'store') },
      stdio: ['ignore', 'pipe', 'inherit'],
      // Its own process group, so that npm, tsx and the service all get the signal.
      detached: true,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('listening on') && resolve());
        child.once('exit', (code) => reject(new Error(`the service exited with ${code}`)));
      });
      const started = await fetch(`http://127.0.0.1:${port}/runs`, {
        method: 'POST',
        body: '{"input":"hi"}',
      });
      expect(started.status).toBe(201);
      const { runId } = (await started.json()) as { runId: string };
      const events = await (await fetch(`http://127.0.0.1:${port}/runs/${runId}/events`)).text();
      expect(events).toContain('event: run-end');
      expect(events).toContain('You said: hi.');
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(-(child.pid as number), 'SIGTERM');
      await exited;
    }
  });

  it('`npm run inspect` starts the service with the inspector relay, which receives the runs live', async () => {
    const [port, inspectorPort] = [await freePort(), await freePort()];
    const cwd = mkdtempSync(join(tmpdir(), 'agentchart-inspect-'));
    const child = spawn('npm', ['run', '--silent', '--prefix', repo, 'inspect'], {
      cwd,
      env: {
        ...cleanEnv,
        PORT: String(port),
        INSPECTOR_PORT: String(inspectorPort),
        AGENTCHART_STORE: join(cwd, 'store'),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout?.on(
          'data',
          (chunk: Buffer) => chunk.toString().includes('Stately inspector: open') && resolve(),
        );
        child.once('exit', (code) => reject(new Error(`the service exited with ${code}`)));
      });
      // A second client of the relay (as the browser page is) gets what the runtime sends.
      const viewer = new WebSocket(`ws://127.0.0.1:${inspectorPort}`);
      const messages: string[] = [];
      viewer.on('message', (data) => messages.push(String(data)));
      await new Promise((resolve) => viewer.once('open', resolve));
      const started = await fetch(`http://127.0.0.1:${port}/runs`, {
        method: 'POST',
        body: '{"input":"watch me"}',
      });
      const { runId } = (await started.json()) as { runId: string };
      await (await fetch(`http://127.0.0.1:${port}/runs/${runId}/events`)).text();
      // The relay passes messages on as they come: wait for the run's actor and for its last snapshot.
      await vi.waitFor(
        () => {
          expect(messages.some((text) => text.includes(`"name":"${runId}"`))).toBe(true);
          expect(messages.some((text) => text.includes('"value":"done"'))).toBe(true);
        },
        { timeout: 10_000 },
      );
      viewer.close();
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(-(child.pid as number), 'SIGTERM');
      await exited;
    }
  });

  it('inspect relays the run to a local inspector page', async () => {
    const port = await freePort();
    const { stdout } = await runExample('examples/inspect.ts', {
      INSPECTOR_PORT: String(port),
      INSPECTOR_LINGER_MS: '100',
    });
    expect(stdout).toContain(`Open http://localhost:${port}`);
    expect(stdout).toContain('result: done');
  });
});

const postgresSkip = await postgresUnavailable();
if (postgresSkip !== undefined) console.log(`skipping the examples on Postgres: ${postgresSkip}`);

describe.skipIf(postgresSkip !== undefined)('examples on Postgres (AGENTCHART_STORE=postgres://…)', () => {
  afterAll(dropSchemas);

  it.each(Object.keys(expectedOutputs))('%s runs on a schema of its own', async (file) => {
    const store = `${postgresUrl}?schema=${freshSchema('example')}`;
    expectOutput(file, (await runExample(file, { AGENTCHART_STORE: store })).stdout);
  });
});
