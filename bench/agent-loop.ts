/**
 * bench/agent-loop: the cost of the run loop itself, with no persistence and no model latency.
 *
 * Runs of 20 and of 200 turns on the scripted model (no delays). Each turn streams 1 KB of
 * assistant text (as 64 deltas) and calls one tool whose result is 4 KB; the last turn answers.
 * Prints one JSON line per run length (ms per step, events per second), then a summary line with
 * the ratio of per-step time at 200 turns to that at 20 (target: at most 1.5) and the target
 * checks. A step is one turn: plan, act and observe. A third line runs 200 turns with the event
 * log on (the default of a runtime), and the summary gives its cost as a ratio.
 *
 *   npm run bench:agent-loop
 */

import { createRuntime, memoryStore } from 'agentchart';
import { fetchPage, workloadModel } from './lib/workload.js';

interface Measurement {
  turns: number;
  runs: number;
  eventLog: boolean;
  msPerStep: number;
  eventsPerSecond: number;
}

async function measure(turns: number, runs: number, eventLog = false): Promise<Measurement> {
  const model = workloadModel(turns);
  // No persistence: a memory store, no checkpoints but each run's first (written when it starts),
  // and no event log, unless `eventLog` (then its cost is measured too, into the memory store).
  const runtime = createRuntime({
    model,
    tools: [fetchPage],
    limits: { maxTurns: turns },
    store: memoryStore(),
    checkpoint: { policy: 'manual' },
    ...(eventLog ? {} : { eventLog: false as const }),
  });
  const perStep: number[] = [];
  let events = 0;
  let seconds = 0;
  for (let run = 0; run < runs; run++) {
    model.requests.length = 0;
    const started = performance.now();
    const handle = runtime.start({ input: 'Read the pages' });
    let count = 0;
    handle.events$.subscribe(() => count++);
    const result = await handle.result;
    const elapsed = performance.now() - started;
    if (result.status !== 'done' || result.usage.turns !== turns)
      throw new Error(`run ended ${result.status} after ${result.usage.turns} turns`);
    perStep.push(elapsed / turns);
    events += count;
    seconds += elapsed / 1000;
  }
  await runtime.close();
  perStep.sort((a, b) => a - b);
  const median = perStep[Math.floor(perStep.length / 2)] ?? Number.NaN;
  return { turns, runs, eventLog, msPerStep: round(median), eventsPerSecond: Math.round(events / seconds) };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

// Warm up the JIT on both lengths before measuring.
await measure(20, 20);
await measure(200, 2);

const short = await measure(20, 100);
const long = await measure(200, 10);
// The same loop with its event log written (the default in a runtime), for its cost.
const logged = await measure(200, 10, true);
for (const measurement of [short, long, logged])
  console.log(JSON.stringify({ bench: 'agent-loop', ...measurement }));
const ratio = round(long.msPerStep / short.msPerStep);
console.log(
  JSON.stringify({
    bench: 'agent-loop',
    summary: true,
    ratio200to20: ratio,
    eventLogCostRatio: round(logged.msPerStep / long.msPerStep),
    targets: { msPerStepAt200Under: 0.3, ratioAtMost: 1.5 },
    pass: long.msPerStep < 0.3 && ratio <= 1.5,
  }),
);
