/**
 * bench/checkpoint: the agent-loop workload (1 KB of text and a 4 KB tool result per turn) with a
 * checkpoint after every step on LevelDB (sync durability, the defaults), at 20 and 200 turns.
 *
 * Prints per length: ms per step (a step is one turn), bytes written per step, and the ratio of the
 * per-step time to one awaited plain classic-level put of the same number of bytes, measured in the
 * same run; then the latency of resuming from the checkpoint at turn 200 in a fresh runtime.
 * Targets: under 1 ms per step at 200 turns; bytes per step at 200 turns at most 2 x those at 20;
 * resume under 20 ms.
 *
 *   npm run bench:checkpoint
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime } from 'agentchart';
import { levelKeyValue } from 'agentchart/level';
import { createKeyValueStore } from 'agentchart/store';
import { scriptedModel } from 'agentchart/testing';
import { Level } from 'level';
import { countingKeyValue } from './lib/counting-key-value.js';
import { fetchPage, workloadModel } from './lib/workload.js';

async function measure(turns: number, runs: number, path: string) {
  const { kv, bytes } = countingKeyValue(await levelKeyValue(path));
  const store = createKeyValueStore(kv);
  const runtime = createRuntime({
    model: workloadModel(turns),
    tools: [fetchPage],
    limits: { maxTurns: turns },
    store,
  });
  const perStep: number[] = [];
  const before = bytes();
  let lastRunId = '';
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    const handle = runtime.start({ input: 'Read the pages', runId: `bench-${turns}-${run}` });
    const result = await handle.result;
    perStep.push((performance.now() - started) / turns);
    if (result.status !== 'done' || result.usage.turns !== turns)
      throw new Error(`run ended ${result.status}`);
    lastRunId = handle.id;
  }
  await runtime.close();
  await store.close();
  perStep.sort((a, b) => a - b);
  return {
    msPerStep: perStep[Math.floor(perStep.length / 2)] ?? Number.NaN,
    bytesPerStep: Math.round((bytes() - before) / (runs * turns)),
    lastRunId,
  };
}

/** Time of one awaited put of `size` bytes into a plain LevelDB (`level`, which is classic-level on Node). */
async function plainPut(size: number, path: string): Promise<number> {
  const db = new Level<string, string>(path, { valueEncoding: 'utf8' });
  await db.open();
  const value = 'z'.repeat(size);
  for (let warm = 0; warm < 200; warm++) await db.put(`warm-${warm}`, value);
  const count = 2000;
  const started = performance.now();
  for (let n = 0; n < count; n++) await db.put(`key-${n}`, value);
  const elapsed = (performance.now() - started) / count;
  await db.close();
  return elapsed;
}

async function resumeLatency(path: string, runId: string): Promise<number> {
  const kv = await levelKeyValue(path);
  const store = createKeyValueStore(kv);
  const runtime = createRuntime({
    model: scriptedModel(() => ({ text: 'resumed' })),
    tools: [fetchPage],
    store,
  });
  const [turn200] = (await store.listCheckpoints({ runId })).filter((meta) => meta.phase === 'plan');
  if (turn200 === undefined) throw new Error('no checkpoint to resume');
  const times: number[] = [];
  for (let n = 0; n < 11; n++) {
    const started = performance.now();
    const handle = await runtime.resume(turn200.id, { runId: `resumed-${n}` });
    times.push(performance.now() - started);
    await handle.result;
  }
  await runtime.close();
  await store.close();
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? Number.NaN;
}

const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;
const dir = mkdtempSync(join(tmpdir(), 'agentchart-bench-checkpoint-'));
try {
  // Warm the JIT on both lengths before measuring.
  await measure(20, 3, join(dir, 'warm-20'));
  await measure(200, 1, join(dir, 'warm-200'));
  const short = await measure(20, 10, join(dir, 'short'));
  const long = await measure(200, 5, join(dir, 'long'));
  const results = [];
  for (const [turns, measured] of [
    [20, short],
    [200, long],
  ] as const) {
    const put = await plainPut(measured.bytesPerStep, join(dir, `plain-${turns}`));
    const line = {
      bench: 'checkpoint',
      turns,
      msPerStep: round(measured.msPerStep),
      bytesPerStep: measured.bytesPerStep,
      plainPutMs: round(put),
      ratioToPlainPut: round(measured.msPerStep / put, 2),
    };
    results.push(line);
    console.log(JSON.stringify(line));
  }
  const resumeMs = await resumeLatency(join(dir, 'long'), long.lastRunId);
  console.log(JSON.stringify({ bench: 'checkpoint', resumeFromTurn: 200, resumeMs: round(resumeMs, 2) }));
  const [atShort, atLong] = results;
  const bytesRatio = round((atLong?.bytesPerStep ?? 0) / (atShort?.bytesPerStep ?? 1), 2);
  console.log(
    JSON.stringify({
      bench: 'checkpoint',
      summary: true,
      bytesRatio200to20: bytesRatio,
      targets: { msPerStepAt200Under: 1, bytesRatioAtMost: 2, resumeMsUnder: 20 },
      pass: (atLong?.msPerStep ?? Number.POSITIVE_INFINITY) < 1 && bytesRatio <= 2 && resumeMs < 20,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
