import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openStore, textOf } from 'agentchart';
import { afterAll, describe, expect, it } from 'vitest';
import { callIdOf, runIds, turnsPerRun } from './fixtures/crash-plan.js';
import { dropSchemas, freshSchema, postgresUnavailable, postgresUrl } from './fixtures/postgres.js';

const worker = join(import.meta.dirname, 'fixtures', 'crash-worker.ts');
const allCallIds = runIds.flatMap((runId) =>
  Array.from({ length: turnsPerRun - 1 }, (_, step) => callIdOf(runId, step)),
);

interface Worker {
  child: ChildProcess;
  ready: Promise<void>;
  exited: Promise<number | null>;
  output: () => string;
}

function startWorker(storePath: string, effects: string): Worker {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=agentchart-source', worker, storePath, effects],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stderr?.on('data', (chunk) => {
    output += String(chunk);
  });
  const ready = new Promise<void>((resolve) => {
    child.stdout?.on('data', (chunk) => {
      output += String(chunk);
      if (output.includes('ready')) resolve();
    });
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, ready: Promise.race([ready, exited.then(() => {})]), exited, output: () => output };
}

/** How often each tool call started, from the side-effect log. */
function executions(effects: string): Map<string, number> {
  const counts = new Map<string, number>();
  if (!existsSync(effects)) return counts;
  for (const line of readFileSync(effects, 'utf8').split('\n').filter(Boolean)) {
    const { callId } = JSON.parse(line) as { callId: string };
    counts.set(callId, (counts.get(callId) ?? 0) + 1);
  }
  return counts;
}

/** Opens the store (the worker is dead), checks every checkpoint loads, and reads the journal and outcomes. */
async function inspectStore(storePath: string) {
  const store = await openStore(storePath);
  try {
    let checkpoints = 0;
    for (const meta of await store.listCheckpoints()) {
      const envelope = await store.getCheckpoint(meta.id);
      expect(envelope?.context.messages).toHaveLength(meta.messageCount);
      checkpoints++;
    }
    const journaled = new Set<string>();
    for (const callId of allCallIds) {
      const runId = callId.replace(/-step-\d+$/, '');
      if ((await store.getToolResult(runId, callId)) !== undefined) journaled.add(callId);
    }
    const outcomes = new Map<string, { status: string; output: string | undefined }>();
    for (const record of await store.listRuns()) {
      const head =
        record.headCheckpointId === null ? undefined : await store.getCheckpoint(record.headCheckpointId);
      const last = head?.context.messages.findLast((message) => message.role === 'assistant');
      outcomes.set(record.runId, {
        status: record.status,
        output: last === undefined ? undefined : textOf(last.content),
      });
    }
    return { checkpoints, journaled, outcomes };
  } finally {
    await store.close();
  }
}

async function runUninterrupted(storePath: string, dir: string) {
  const effects = join(dir, 'effects.log');
  const run = startWorker(storePath, effects);
  expect(await run.exited).toBe(0);
  return { ...(await inspectStore(storePath)), executions: executions(effects) };
}

/**
 * Kills a worker 20 times at random moments on the store `location` gives (a LevelDB folder in
 * `dir`, or a Postgres schema of its own), and checks the end against an uninterrupted reference.
 */
async function crashTest(location: (dir: string) => string) {
  const referenceDir = mkdtempSync(join(tmpdir(), 'agentchart-reference-'));
  const reference = await runUninterrupted(location(referenceDir), referenceDir);
  expect([...reference.outcomes.values()].every((outcome) => outcome.status === 'done')).toBe(true);
  expect([...reference.executions.values()].every((count) => count === 1)).toBe(true);
  expect(reference.executions.size).toBe(allCallIds.length);

  const dir = mkdtempSync(join(tmpdir(), 'agentchart-crash-'));
  const storePath = location(dir);
  const effects = join(dir, 'effects.log');
  // After each kill: the calls the journal held, and how often each had run by then.
  const snapshots: { journaled: Set<string>; executions: Map<string, number> }[] = [];
  let kills = 0;
  let interruptedRuns = 0;
  while (kills < 20) {
    const incarnation = startWorker(storePath, effects);
    await incarnation.ready;
    await sleep(Math.floor(Math.random() * 80));
    const killed = incarnation.child.kill('SIGKILL');
    const code = await incarnation.exited;
    if (!killed || code === 0) continue;
    kills++;
    const state = await inspectStore(storePath);
    if ([...state.outcomes.values()].some((outcome) => outcome.status !== 'done')) interruptedRuns++;
    snapshots.push({ journaled: state.journaled, executions: executions(effects) });
  }

  const last = startWorker(storePath, effects);
  expect(await last.exited, last.output()).toBe(0);
  const final = await inspectStore(storePath);
  const finalExecutions = executions(effects);

  expect(kills).toBe(20);
  expect(interruptedRuns).toBeGreaterThanOrEqual(15);
  expect(final.outcomes).toEqual(reference.outcomes);
  for (const callId of allCallIds) expect(finalExecutions.get(callId) ?? 0).toBeGreaterThanOrEqual(1);
  for (const snapshot of snapshots) {
    for (const callId of snapshot.journaled) {
      // A call whose result was journaled before a kill never ran again afterwards.
      expect(finalExecutions.get(callId), callId).toBe(snapshot.executions.get(callId));
    }
  }
  const rerun = [...finalExecutions.values()].filter((count) => count > 1).length;
  console.log(
    `crash test: ${kills} kills (${interruptedRuns} with runs unfinished), ${final.checkpoints} checkpoints, ` +
      `${rerun} tool calls in flight at a kill and run again`,
  );
}

const postgresSkip = await postgresUnavailable();
if (postgresSkip !== undefined) console.log(`skipping the crash test on Postgres: ${postgresSkip}`);

describe('crash recovery', () => {
  afterAll(dropSchemas);

  it(
    'survives 20 SIGKILLs: same outputs, no completed tool call run again, every checkpoint loads',
    {
      timeout: 240_000,
    },
    () => crashTest((dir) => join(dir, 'store')),
  );

  it.skipIf(postgresSkip !== undefined)(
    'survives 20 SIGKILLs on the Postgres store',
    { timeout: 240_000 },
    () => crashTest(() => `${postgresUrl}?schema=${freshSchema('crash')}`),
  );
});
