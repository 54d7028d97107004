/**
 * The cluster (agentchart/cluster) on the real Redis and Postgres, with real worker processes:
 * controls and events from another process, workers killed with SIGKILL, a zombie worker stopped
 * with SIGSTOP past its lock, and a worker shut down with SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, defineTool, type RunEvent } from 'agentchart';
import { bullmqCluster } from 'agentchart/cluster';
import { postgresStore } from 'agentchart/postgres';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  answerOf,
  callIdOf,
  clusterModel,
  type Effect,
  toolTurns,
  workTool,
} from './fixtures/cluster-plan.js';
import { dropSchemas, freshSchema, postgresUnavailable, postgresUrl } from './fixtures/postgres.js';

const redisUrl = process.env.AGENTCHART_TEST_REDIS ?? 'redis://127.0.0.1:6379';

async function redisUnavailable(): Promise<string | undefined> {
  if (process.env.CI) return undefined;
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
    return undefined;
  } catch (error) {
    return `Redis at ${redisUrl} is unreachable (${(error as Error).message}) and CI is not set`;
  } finally {
    redis.disconnect();
  }
}

const skip = (await postgresUnavailable()) ?? (await redisUnavailable());
if (skip !== undefined) console.log(`skipping the cluster tests: ${skip}`);

const workerFixture = join(import.meta.dirname, 'fixtures', 'cluster-worker.ts');

interface WorkerProcess {
  child: ChildProcess;
  ready: Promise<void>;
  exited: Promise<number | null>;
  output(): string;
}

function startWorker(
  storeUrl: string,
  queue: string,
  effects: string,
  env: Record<string, string> = {},
): WorkerProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=agentchart-source', workerFixture, storeUrl, queue, effects],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, REDIS_URL: redisUrl, ...env } },
  );
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk) => {
      output += String(chunk);
      if (output.includes('ready')) resolve();
    });
    child.stderr?.on('data', (chunk) => {
      output += String(chunk);
    });
    child.once('exit', () => reject(new Error(`the worker exited before it was ready:\n${output}`)));
  });
  ready.catch(() => {});
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  spawned.add(child);
  void exited.then(() => spawned.delete(child));
  return { child, ready, exited, output: () => output };
}

/** Every worker process a test started: killed after each test, even one that timed out. */
const spawned = new Set<ChildProcess>();
afterEach(() => {
  for (const child of spawned) child.kill('SIGKILL');
});

function effectsOf(file: string): Effect[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Effect);
}

/** Resolves once `matches` holds for the effects file (it is polled: the workers write it). */
async function effectWhere(
  file: string,
  matches: (effects: Effect[]) => Effect | undefined,
): Promise<Effect> {
  for (;;) {
    const found = matches(effectsOf(file));
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** An API process's runtime on the cluster (it executes nothing itself). */
async function apiRuntime(schema: string, queue: string, tools = [workTool(join(tmpdir(), 'unused'))]) {
  const store = await postgresStore({ connectionString: postgresUrl }, { schema });
  const runtime = createRuntime({
    model: clusterModel,
    tools,
    store,
    cluster: bullmqCluster({ connection: redisUrl, queue, lockDurationMs: 1500, stalledIntervalMs: 500 }),
  });
  return {
    runtime,
    close: async () => {
      await runtime.close();
      await store.close();
    },
  };
}

/** Tool turns of each run of the kill test. */
const killTestTurns = 12;

/**
 * The kill test: 3 workers, `runs` runs; each of `kills` times, once a fast tool call has finished
 * while its turn's slow call still runs, that worker is killed with SIGKILL and a new one started.
 * Returns the calls that ran again after their result was journaled (none, when the journal works).
 */
async function killTest(options: { runs: number; kills: number; env?: Record<string, string> }) {
  // Runs long enough to see every kill: each of their turns waits on a slow call.
  const env = { ...options.env, AGENTCHART_TEST_TOOL_TURNS: String(killTestTurns) };
  const schema = freshSchema('cluster_kill');
  const queue = `kill-${process.pid}-${Date.now()}`;
  const storeUrl = `${postgresUrl}?schema=${schema}`;
  const effects = join(mkdtempSync(join(tmpdir(), 'agentchart-cluster-')), 'effects.log');
  const api = await apiRuntime(schema, queue);
  const workers = new Map<number, WorkerProcess>();
  const spawnWorker = async () => {
    const worker = startWorker(storeUrl, queue, effects, env);
    await worker.ready;
    workers.set(worker.child.pid as number, worker);
  };
  try {
    await Promise.all([spawnWorker(), spawnWorker(), spawnWorker()]);
    const inputs = Array.from({ length: options.runs }, (_, index) => `job-${index}`);
    const handles = inputs.map((input) => api.runtime.start({ input, runId: input }));
    const results = Promise.all(handles.map((handle) => handle.result));
    // Journaled calls after each kill, and how often each had started by then.
    const snapshots: { journaled: string[]; starts: Map<string, number> }[] = [];
    let kills = 0;
    let seenDone = 0;
    while (kills < options.kills) {
      // A fast call just finished while its slow sibling runs: its result is journaled, not checkpointed.
      const victim = await effectWhere(effects, (list) => {
        const done = list.filter((effect) => effect.phase === 'done' && effect.callId.endsWith('-fast'));
        if (done.length <= seenDone) return undefined;
        seenDone = done.length;
        const last = done.at(-1) as Effect;
        const sibling = last.callId.replace(/-fast$/, '-slow');
        const slowDone = list.some((effect) => effect.callId === sibling && effect.phase === 'done');
        return !slowDone && workers.has(last.pid) ? last : undefined;
      });
      const worker = workers.get(victim.pid) as WorkerProcess;
      workers.delete(victim.pid);
      worker.child.kill('SIGKILL');
      await worker.exited;
      kills++;
      const store = await postgresStore({ connectionString: postgresUrl }, { schema });
      const journaled: string[] = [];
      for (const input of inputs) {
        for (let step = 0; step < killTestTurns; step++) {
          for (const which of ['fast', 'slow'] as const) {
            const callId = callIdOf(input, step, which);
            if ((await store.getToolResult(input, callId)) !== undefined) journaled.push(callId);
          }
        }
      }
      await store.close();
      const starts = new Map<string, number>();
      for (const effect of effectsOf(effects))
        if (effect.phase === 'start') starts.set(effect.callId, (starts.get(effect.callId) ?? 0) + 1);
      snapshots.push({ journaled, starts });
      // The next kill does not wait for this worker to be ready.
      const next = spawnWorker();
      next.catch(() => {});
    }
    const ended = await results;
    const finalStarts = new Map<string, number>();
    for (const effect of effectsOf(effects))
      if (effect.phase === 'start') finalStarts.set(effect.callId, (finalStarts.get(effect.callId) ?? 0) + 1);
    const repeated = new Set<string>();
    for (const snapshot of snapshots)
      for (const callId of snapshot.journaled)
        if (finalStarts.get(callId) !== snapshot.starts.get(callId)) repeated.add(callId);
    return { ended, inputs, repeated: [...repeated], kills };
  } finally {
    await Promise.all(
      [...workers.values()].map(async (worker) => {
        worker.child.kill('SIGKILL');
        await worker.exited;
      }),
    );
    await api.close();
  }
}

describe.skipIf(skip !== undefined)('the cluster', () => {
  afterAll(dropSchemas);

  it('runs a run on a worker process, with its events, pause, resume, cancel and approval from another process', {
    timeout: 120_000,
  }, async () => {
    const schema = freshSchema('cluster_control');
    const queue = `control-${process.pid}-${Date.now()}`;
    const effects = join(mkdtempSync(join(tmpdir(), 'agentchart-cluster-')), 'effects.log');
    const worker = startWorker(`${postgresUrl}?schema=${schema}`, queue, effects);
    await worker.ready;
    const api = await apiRuntime(schema, queue);
    try {
      // Events and result in the calling process.
      const run = api.runtime.start({ input: 'first', runId: 'first' });
      const events: RunEvent[] = [];
      for await (const event of run) events.push(event);
      expect(events.at(-1)?.type).toBe('run-end');
      expect(events.map((event) => event.seq)).toEqual(
        [...events.map((event) => event.seq)].sort((a, b) => a - b),
      );
      const result = await run.result;
      expect(result.status).toBe('done');
      expect(result.output).toBe(answerOf('first'));
      expect((await api.runtime.runs.get('first'))?.status).toBe('done');

      // Pause once it streams, see it parked in the store, resume it from here: it finishes.
      const paused = api.runtime.start({ input: 'paused', runId: 'paused' });
      for await (const event of paused) {
        if (event.type === 'text-delta') break;
      }
      await api.runtime.pause('paused');
      expect((await api.runtime.status('paused')).status).toBe('paused');
      const resumed = await api.runtime.resume('paused');
      expect((await resumed.result).output).toBe(answerOf('paused'));

      // Two cancels race: the first reason wins.
      const cancelled = api.runtime.start({ input: 'cancelled', runId: 'cancelled' });
      for await (const event of cancelled) {
        if (event.type === 'tool-call') break;
      }
      const [first, second] = await Promise.all([
        api.runtime.cancel('cancelled', 'first reason'),
        api.runtime.cancel('cancelled', 'second reason').catch((error: unknown) => error),
      ]);
      expect(first.status).toBe('cancelled');
      expect(first.error?.message).toContain('first reason');
      expect((await cancelled.result).status).toBe('cancelled');
      void second;
      expect(await api.runtime.status('unknown').catch((error) => error.code)).toBe('RUN_NOT_FOUND');
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
      await api.close();
    }
  });

  it('takes an approval from another process for a run parked on a worker', {
    timeout: 60_000,
  }, async () => {
    const schema = freshSchema('cluster_approval');
    const queue = `approval-${process.pid}-${Date.now()}`;
    const effects = join(mkdtempSync(join(tmpdir(), 'agentchart-cluster-')), 'effects.log');
    const pay = defineTool({
      name: 'work',
      description: 'Does work, once approved',
      input: z.object({ ms: z.number() }),
      needsApproval: true,
      execute: async () => 'paid',
    });
    const worker = startWorker(`${postgresUrl}?schema=${schema}`, queue, effects, {
      AGENTCHART_TEST_APPROVAL: '1',
    });
    await worker.ready;
    const api = await apiRuntime(schema, queue, [pay]);
    try {
      const run = api.runtime.start({ input: 'approve-me', runId: 'approve-me' });
      let approvals = 0;
      let checked = false;
      // A run loaded again announces what it still waits on again: each request is answered once.
      const answered = new Set<string>();
      const waiting: string[] = [];
      for await (const event of run) {
        if (event.type === 'input-request' && !answered.has(event.request.requestId)) {
          answered.add(event.request.requestId);
          waiting.push(event.request.requestId);
        }
        // Answered once the run is parked (its checkpoint says so).
        if (event.type !== 'checkpoint' || event.phase !== 'waiting_input') continue;
        if (!checked) {
          checked = true;
          // The run is parked: the store says what it waits on.
          const status = await api.runtime.status('approve-me');
          expect(status.status).toBe('waiting_input');
          expect(status.pendingRequests.map((request) => request.requestId)).toEqual(
            expect.arrayContaining(waiting),
          );
          // Bad input is refused with its code, and the run keeps waiting.
          expect(
            await api.runtime.respond('approve-me', 'no-such-request', 1).catch((error) => error.code),
          ).toBe('REQUEST_NOT_FOUND');
        }
        for (const requestId of waiting.splice(0)) {
          await api.runtime.approve('approve-me', requestId);
          approvals++;
        }
      }
      expect(approvals).toBe(toolTurns * 2);
      expect((await run.result).status).toBe('done');
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
      await api.close();
    }
  });

  // Killed before the approval's step is stored, the next worker applies it; killed after, the next
  // worker finds the request answered and answers the approval as done.
  it.each([
    ['before', 'applies it again'],
    ['after', 'answers it as done'],
  ] as const)(
    'takes an approval whose worker is killed %s its step is checkpointed: the next worker %s',
    {
      timeout: 60_000,
    },
    async (when, _outcome) => {
      const schema = freshSchema(`cluster_control_kill_${when}`);
      const queue = `control-kill-${when}-${process.pid}-${Date.now()}`;
      const storeUrl = `${postgresUrl}?schema=${schema}`;
      const effects = join(mkdtempSync(join(tmpdir(), 'agentchart-cluster-')), 'effects.log');
      // This worker never finishes writing the checkpoint an approval leads to.
      const first = startWorker(storeUrl, queue, effects, {
        AGENTCHART_TEST_APPROVAL: '1',
        AGENTCHART_TEST_HANG_ACT_CHECKPOINT: when,
      });
      await first.ready;
      const api = await apiRuntime(schema, queue, [workTool(effects, { needsApproval: true })]);
      try {
        const runId = 'approve-then-kill';
        const run = api.runtime.start({ input: runId, runId });
        const answered = new Set<string>();
        const waiting: string[] = [];
        let killed = false;
        for await (const event of run) {
          if (event.type === 'input-request' && !answered.has(event.request.requestId)) {
            answered.add(event.request.requestId);
            waiting.push(event.request.requestId);
          }
          if (event.type !== 'checkpoint' || event.phase !== 'waiting_input') continue;
          if (!killed && waiting.length === 2) {
            killed = true;
            const [fast, slow] = waiting.splice(0) as [string, string];
            await api.runtime.approve(runId, fast);
            // The second approval moves the run on to its tool calls: the worker applies it, and hangs
            // writing that step. It is killed there, and another worker takes the run.
            const approving = api.runtime.approve(runId, slow);
            await effectWhere(effects, (list) => list.find((effect) => effect.callId === 'act-checkpoint'));
            first.child.kill('SIGKILL');
            await first.exited;
            const second = startWorker(storeUrl, queue, effects, { AGENTCHART_TEST_APPROVAL: '1' });
            await second.ready;
            // Answered once its effect is stored, by the worker that applied it again.
            await approving;
            continue;
          }
          for (const requestId of waiting.splice(0)) await api.runtime.approve(runId, requestId);
        }
        expect(killed).toBe(true);
        const result = await run.result;
        expect([result.status, result.output]).toEqual(['done', answerOf(runId)]);
        // The approved calls ran once each, on the second worker: none on the one that was killed.
        const starts = effectsOf(effects).filter(
          (effect) => effect.phase === 'start' && effect.callId !== 'act-checkpoint',
        );
        expect(starts.map((effect) => effect.callId).sort()).toEqual(
          Array.from({ length: toolTurns }, (_, step) => [
            callIdOf(runId, step, 'fast'),
            callIdOf(runId, step, 'slow'),
          ])
            .flat()
            .sort(),
        );
        expect(starts.some((effect) => effect.pid === first.child.pid)).toBe(false);
      } finally {
        await api.close();
      }
    },
  );

  it('survives 10 workers killed with SIGKILL: every run ends with its output, and no journaled call runs again', {
    timeout: 240_000,
  }, async () => {
    const { ended, inputs, repeated, kills } = await killTest({ runs: 30, kills: 10 });
    expect(kills).toBe(10);
    expect(ended.map((result) => [result.runId, result.status, result.output])).toEqual(
      inputs.map((input) => [input, 'done', answerOf(input, killTestTurns)]),
    );
    expect(repeated).toEqual([]);
  });

  it('would catch a repeated call: with the journal lookup disabled, the kill test fails', {
    timeout: 240_000,
  }, async () => {
    const { repeated } = await killTest({ runs: 6, kills: 3, env: { AGENTCHART_TEST_NO_JOURNAL: '1' } });
    expect(repeated.length).toBeGreaterThan(0);
  });

  it('hands a worker’s runs over at once on SIGTERM', { timeout: 120_000 }, async () => {
    const schema = freshSchema('cluster_sigterm');
    const queue = `sigterm-${process.pid}-${Date.now()}`;
    const storeUrl = `${postgresUrl}?schema=${schema}`;
    const effects = join(mkdtempSync(join(tmpdir(), 'agentchart-cluster-')), 'effects.log');
    // Long lock: a run waiting for the stall timeout would take 60 s; a hand-over takes much less.
    const slowTakeover = { LOCK_MS: '60000', STALLED_MS: '30000' };
    // Its slow calls take long enough for the second worker to start meanwhile.
    const first = startWorker(storeUrl, queue, effects, { ...slowTakeover, AGENTCHART_TEST_SLOW_MS: '2000' });
    await first.ready;
    const api = await apiRuntime(schema, queue);
    let second: WorkerProcess | undefined;
    try {
      const run = api.runtime.start({ input: 'handed-over', runId: 'handed-over' });
      const firstPid = first.child.pid;
      await effectWhere(effects, (list) => list.find((effect) => effect.pid === firstPid));
      second = startWorker(storeUrl, queue, effects, slowTakeover);
      await second.ready;
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      const result = await run.result;
      expect(result.status).toBe('done');
      expect(result.output).toBe(answerOf('handed-over'));
      const secondPid = second.child.pid;
      expect(effectsOf(effects).some((effect) => effect.pid === secondPid)).toBe(true);
    } finally {
      second?.child.kill('SIGTERM');
      await second?.exited;
      await api.close();
    }
  });

  it('a zombie worker (SIGSTOP past its lock, then SIGCONT) writes nothing after the takeover', {
    timeout: 120_000,
  }, async () => {
    const schema = freshSchema('cluster_zombie');
    const queue = `zombie-${process.pid}-${Date.now()}`;
    const storeUrl = `${postgresUrl}?schema=${schema}`;
    const effects = join(mkdtempSync(join(tmpdir(), 'agentchart-cluster-')), 'effects.log');
    const zombie = startWorker(storeUrl, queue, effects);
    await zombie.ready;
    const api = await apiRuntime(schema, queue);
    let other: WorkerProcess | undefined;
    try {
      const run = api.runtime.start({ input: 'zombie', runId: 'zombie' });
      const zombiePid = zombie.child.pid;
      // Stopped while a slow call of its runs: it holds the run, and can renew nothing.
      await effectWhere(effects, (list) =>
        list.find(
          (effect) => effect.pid === zombiePid && effect.callId.endsWith('-slow') && effect.phase === 'start',
        ),
      );
      zombie.child.kill('SIGSTOP');
      other = startWorker(storeUrl, queue, effects);
      await other.ready;
      const otherPid = other.child.pid;
      // The other worker took the run over (it runs the run's calls now).
      await effectWhere(effects, (list) => list.find((effect) => effect.pid === otherPid));
      const stored = await postgresStore({ connectionString: postgresUrl }, { schema });
      const before = await stored.listCheckpoints({ runId: 'zombie', order: 'asc' });
      zombie.child.kill('SIGCONT');
      const result = await run.result;
      expect(result.status).toBe('done');
      expect(result.output).toBe(answerOf('zombie'));
      // Every checkpoint written after the takeover is the new owner's: the zombie's were refused.
      const after = await stored.listCheckpoints({ runId: 'zombie', order: 'asc' });
      const steps = after.map((meta) => meta.stepNum);
      expect(new Set(steps).size).toBe(steps.length);
      expect(after.slice(0, before.length).map((meta) => meta.id)).toEqual(before.map((meta) => meta.id));
      const events = (await stored.readEvents('zombie')).map((stored) => stored.event);
      const seqs = events.map((event) => event.seq);
      expect(new Set(seqs).size).toBe(seqs.length);
      await stored.close();
    } finally {
      for (const worker of [zombie, other]) {
        worker?.child.kill('SIGKILL');
        await worker?.exited;
      }
      await api.close();
    }
  });
});

/** A Redis server of the test's own, on a free port, that the test can restart. */
async function ownRedis() {
  const { createServer } = await import('node:net');
  const port = await new Promise<number>((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
  let server: ChildProcess | undefined;
  const start = async () => {
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    server = child;
    await new Promise<void>((resolve, reject) => {
      let output = '';
      child.stdout?.on('data', (chunk) => {
        output += String(chunk);
        if (output.includes('Ready to accept connections')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`redis-server exited ${code}:\n${output}`)));
    });
  };
  const stop = async () => {
    const child = server;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, start, stop };
}

describe.skipIf(skip !== undefined)('the cluster across a Redis restart', () => {
  afterAll(dropSchemas);

  it('finishes its runs after Redis is restarted mid-run (Redis keeps nothing: queue, holds and streams are gone)', {
    timeout: 180_000,
  }, async () => {
    const redis = await ownRedis();
    const schema = freshSchema('cluster_redis');
    const queue = `restart-${process.pid}-${Date.now()}`;
    const effects = join(mkdtempSync(join(tmpdir(), 'agentchart-cluster-')), 'effects.log');
    const turns = 8;
    const worker = startWorker(`${postgresUrl}?schema=${schema}`, queue, effects, {
      REDIS_URL: redis.url,
      AGENTCHART_TEST_TOOL_TURNS: String(turns),
    });
    await worker.ready;
    const store = await postgresStore({ connectionString: postgresUrl }, { schema });
    const api = createRuntime({
      model: clusterModel,
      tools: [workTool(join(tmpdir(), 'unused'))],
      store,
      cluster: bullmqCluster({ connection: redis.url, queue, lockDurationMs: 1500, stalledIntervalMs: 500 }),
    });
    try {
      const inputs = ['restart-a', 'restart-b', 'restart-c'];
      const results = Promise.all(inputs.map((input) => api.start({ input, runId: input }).result));
      // Restarted once every run has had a call finish.
      await effectWhere(effects, (list) =>
        inputs.every((input) =>
          list.some((effect) => effect.callId.startsWith(`${input}-`) && effect.phase === 'done'),
        )
          ? list[0]
          : undefined,
      );
      await redis.stop();
      await redis.start();
      const ended = await results;
      expect(ended.map((result) => [result.runId, result.status, result.output])).toEqual(
        inputs.map((input) => [input, 'done', answerOf(input, turns)]),
      );
    } finally {
      worker.child.kill('SIGKILL');
      await worker.exited;
      await api.close();
      await store.close();
      await redis.stop();
    }
  });
});

describe.skipIf(skip !== undefined)('the example service on a cluster', () => {
  afterAll(dropSchemas);

  it('serves SSE of a run executing on a worker from two service processes behind one address, across a reconnect with Last-Event-ID', {
    timeout: 120_000,
  }, async () => {
    const { createServer, connect } = await import('node:net');
    const schema = freshSchema('cluster_sse');
    const queue = `sse-${process.pid}-${Date.now()}`;
    const storeUrl = `${postgresUrl}?schema=${schema}`;
    const effects = join(mkdtempSync(join(tmpdir(), 'agentchart-cluster-')), 'effects.log');
    const worker = startWorker(storeUrl, queue, effects);
    const services = [0, 1].map(() =>
      spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '--conditions=agentchart-source',
          join(import.meta.dirname, 'fixtures', 'cluster-service.ts'),
          storeUrl,
          queue,
        ],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
          env: { ...process.env, REDIS_URL: redisUrl },
        },
      ),
    );
    const urls = await Promise.all(
      services.map(
        (service) =>
          new Promise<URL>((resolve, reject) => {
            let output = '';
            service.stdout?.on('data', (chunk) => {
              output += String(chunk);
              const found = /listening (\S+)/.exec(output);
              if (found?.[1] !== undefined) resolve(new URL(found[1]));
            });
            service.once('exit', (code) => reject(new Error(`a service exited ${code}`)));
          }),
      ),
    );
    // One address: each new connection goes to the next service in turn.
    let turn = 0;
    const served: number[] = [];
    const balancer = createServer((client) => {
      const index = turn++ % urls.length;
      served.push(index);
      const target = urls[index] as URL;
      const upstream = connect(Number(target.port), target.hostname);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => balancer.listen(0, '127.0.0.1', resolve));
    const address = `http://127.0.0.1:${(balancer.address() as { port: number }).port}`;
    try {
      await worker.ready;
      const posted = await fetch(`${address}/runs`, {
        method: 'POST',
        body: JSON.stringify({ input: 'streamed', runId: 'streamed' }),
        headers: { connection: 'close' },
      });
      expect(posted.status).toBe(201);
      // Reads SSE frames until `stopAfter` events (or the end), then drops the connection.
      const texts = new Map<number, string>();
      let lastSeq: number | undefined;
      let ended = false;
      let connections = 0;
      const read = async (stopAfter: number) => {
        connections++;
        const controller = new AbortController();
        const response = await fetch(`${address}/runs/streamed/events`, {
          headers: {
            connection: 'close',
            ...(lastSeq === undefined ? {} : { 'last-event-id': String(lastSeq) }),
          },
          signal: controller.signal,
        });
        if (response.status === 204) {
          ended = true;
          return;
        }
        expect(response.status).toBe(200);
        const decoder = new TextDecoder();
        let buffer = '';
        let seen = 0;
        try {
          for await (const chunk of response.body as ReadableStream<Uint8Array>) {
            buffer += decoder.decode(chunk, { stream: true });
            for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
              const frame = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              const fields = new Map<string, string>();
              for (const line of frame.split('\n')) {
                if (line.startsWith(':')) continue;
                const colon = line.indexOf(':');
                fields.set(line.slice(0, colon), line.slice(colon + 2));
              }
              if (!fields.has('id')) continue;
              const seq = Number(fields.get('id'));
              expect(seq, 'no duplicate, in order').toBeGreaterThan(lastSeq ?? -1);
              lastSeq = seq;
              const type = fields.get('event');
              const data = JSON.parse(fields.get('data') ?? '{}') as { turn: number; text: string };
              if (type === 'retry') texts.delete(data.turn);
              if (type === 'text-delta') texts.set(data.turn, (texts.get(data.turn) ?? '') + data.text);
              if (type === 'run-end') ended = true;
              if (++seen >= stopAfter && !ended) {
                controller.abort();
                return;
              }
            }
          }
        } catch {
          // Aborted on purpose: the client reconnects.
        }
      };
      await read(5);
      while (!ended) await read(15);
      expect(connections).toBeGreaterThanOrEqual(2);
      // Both services answered this client.
      expect(new Set(served).size).toBe(2);
      const record = await postgresStore({ connectionString: postgresUrl }, { schema });
      const head = await record.getCheckpoint((await record.getRun('streamed'))?.headCheckpointId ?? '');
      await record.close();
      const answers = (head?.context.messages ?? [])
        .filter((message) => message.role === 'assistant')
        .map((message) =>
          message.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join(''),
        );
      expect([...texts.keys()].sort((a, b) => a - b)).toEqual(answers.map((_, index) => index + 1));
      for (const [turnNumber, text] of texts) expect(text).toBe(answers[turnNumber - 1]);
      expect(answers.at(-1)).toBe(answerOf('streamed'));
    } finally {
      balancer.close();
      for (const service of services) {
        const exited = new Promise((resolve) => service.once('exit', resolve));
        service.kill('SIGTERM');
        await exited;
      }
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
  });
});
