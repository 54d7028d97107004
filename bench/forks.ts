/**
 * bench/forks: from the checkpoint at turn 100 of the agent-loop workload (1 KB of text and a 4 KB
 * tool result per turn), fork 100 branches that each run 10 more turns, all at once, on LevelDB.
 * Prints the time for all of them, and the bytes each fork adds to the store, next to the size of
 * the history it shares. Target: bytes added per fork well under the shared history (forks point
 * at the stored messages; they do not copy them).
 *
 *   npm run bench:forks
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime } from 'agentchart';
import { levelKeyValue } from 'agentchart/level';
import { createKeyValueStore } from 'agentchart/store';
import { countingKeyValue } from './lib/counting-key-value.js';
import { fetchPage, workloadModel } from './lib/workload.js';

const trunkTurns = 100;
const branchTurns = 10;
const branches = 100;

const dir = mkdtempSync(join(tmpdir(), 'agentchart-bench-forks-'));
try {
  const { kv, bytes, reset } = countingKeyValue(await levelKeyValue(dir));
  const store = createKeyValueStore(kv);
  // One model for trunk and branches: it answers by the turn count, so a branch of turn 100 runs turns 101 to 110.
  const runtime = createRuntime({
    model: workloadModel(trunkTurns + branchTurns),
    tools: [fetchPage],
    store,
    limits: { maxTurns: trunkTurns },
  });
  const trunk = await runtime.start({ input: 'Read the pages', runId: 'trunk' }).result;
  const historyBytes = bytes();
  const point = (await runtime.checkpoints.list({ runId: 'trunk' })).find(
    (meta) => meta.phase === 'act' && meta.turn === trunkTurns,
  );
  if (trunk.status !== 'failed' || point === undefined)
    throw new Error(`the trunk ended ${trunk.status} without a checkpoint at turn ${trunkTurns}`);

  reset();
  const started = performance.now();
  const forks = await runtime.forkMany(
    point.id,
    Array.from({ length: branches }, () => ({ limits: { maxTurns: trunkTurns + branchTurns } })),
  );
  const results = await Promise.all(forks.map((fork) => fork.result));
  const seconds = (performance.now() - started) / 1000;
  const done = results.filter(
    (result) => result.status === 'done' && result.usage.turns === trunkTurns + branchTurns,
  ).length;
  if (done !== branches)
    throw new Error(`${branches - done} branches did not run their ${branchTurns} turns`);
  const perFork = bytes() / branches;
  console.log(
    JSON.stringify({
      bench: 'forks',
      branches,
      turnsPerBranch: branchTurns,
      fromTurn: trunkTurns,
      secondsForAll: Math.round(seconds * 100) / 100,
      sharedHistoryBytes: historyBytes,
      bytesAddedPerFork: Math.round(perFork),
      ratioToSharedHistory: Math.round((perFork / historyBytes) * 1000) / 1000,
    }),
  );
  await runtime.close();
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
