/**
 * bench/long-lived: a runtime that lives long does not grow. 20,000 runs, one after another, on
 * LevelDB; each calls a tool once and answers. After every 2,000 runs the heap is measured after
 * garbage collection. Target: flat within 10% after the first 2,000 (every later figure at most
 * 1.1 times the one at 2,000).
 *
 *   npm run bench:long-lived      (needs node --expose-gc, which the npm script passes)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, defineTool } from 'agentchart';
import { levelStore } from 'agentchart/level';
import { scriptedModel } from 'agentchart/testing';
import { z } from 'zod';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const totalRuns = Number(process.env.RUNS ?? 20_000);
const every = 2_000;

const lookup = defineTool({
  name: 'lookup',
  description: 'Looks a number up',
  input: z.object({ n: z.number() }),
  execute: ({ n }) => ({ n, square: n * n }),
});
const model = scriptedModel((request) =>
  request.messages.length === 1
    ? { text: 'Let me look.', toolCalls: [{ name: 'lookup', input: { n: request.messages.length } }] }
    : { text: 'Found it.' },
);

const path = join(mkdtempSync(join(tmpdir(), 'agentchart-long-lived-')), 'store');
const store = await levelStore({ path });
const runtime = createRuntime({ model, tools: [lookup], store });

function heapMb(): number {
  gc?.();
  gc?.();
  return Math.round((process.memoryUsage().heapUsed / 1024 / 1024) * 100) / 100;
}

const figures: { runs: number; heapMb: number }[] = [];
const started = performance.now();
for (let run = 1; run <= totalRuns; run++) {
  // The scripted model remembers what it was asked: forget it, as a real client keeps nothing.
  model.requests.length = 0;
  const result = await runtime.start({ input: `question ${run}` }).result;
  if (result.status !== 'done') throw new Error(`run ${run} ended ${result.status}`);
  if (run % every === 0) {
    // Let the event log's last batches go out before measuring.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const figure = { runs: run, heapMb: heapMb() };
    figures.push(figure);
    console.log(JSON.stringify({ bench: 'long-lived', ...figure }));
  }
}
const seconds = (performance.now() - started) / 1000;
await runtime.close();
await store.close();
rmSync(path, { recursive: true, force: true });

const base = figures[0]?.heapMb ?? Number.NaN;
const highest = Math.max(...figures.slice(1).map((figure) => figure.heapMb));
const ratio = Math.round((highest / base) * 1000) / 1000;
console.log(
  JSON.stringify({
    bench: 'long-lived',
    summary: true,
    runs: totalRuns,
    seconds: Math.round(seconds * 10) / 10,
    heapAt2000Mb: base,
    highestLaterMb: highest,
    ratioToFirst: ratio,
    targets: { ratioAtMost: 1.1 },
    pass: ratio <= 1.1,
  }),
);
