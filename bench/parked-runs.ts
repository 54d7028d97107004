/**
 * bench/parked-runs: 10,000 runs wait for a human, then a fresh process answers them all.
 *
 * One process starts 10,000 runs on LevelDB; each asks for the approval of a tool call, parks in
 * `waiting_input` and (with `unloadParked`) leaves memory. A fresh process then approves every
 * request by run id (loading each run from its checkpoint) and runs them all to the end. Prints the
 * memory of the parking process per parked run and in all, the time to load, answer and finish all
 * 10,000, and steps per second. Targets: under 200 MB for the whole process with 10,000 parked
 * runs; all answered and finished in under 20 s.
 *
 * The two processes run the compiled package (`dist/`, built first) as plain Node, the way an
 * application runs it: no TypeScript loader in their memory.
 *
 *   npm run bench:parked-runs            (PARKED_RUNS=2000 for a shorter run; NO_EVENT_LOG=1 without the event log)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRuntime, defineTool, type RunHandle } from 'agentchart';
import { levelStore } from 'agentchart/level';
import { scriptedModel } from 'agentchart/testing';
import { buildSync } from 'esbuild';
import { z } from 'zod';

const total = Number(process.env.PARKED_RUNS ?? 10_000);
const batch = 100;
const [mode, dir] = process.argv.slice(2);

const payTool = defineTool({
  name: 'pay_invoice',
  description: 'Pays an invoice',
  input: z.object({ invoice: z.string(), amount: z.number() }),
  needsApproval: true,
  execute: async ({ invoice }) => `paid ${invoice}`,
});
const model = scriptedModel((request) => {
  const first = request.messages[0]?.content[0];
  const invoice = first?.type === 'text' ? first.text : 'unknown';
  return request.messages.length === 1
    ? {
        text: `Paying ${invoice}.`,
        toolCalls: [{ name: 'pay_invoice', input: { invoice, amount: 42 } }],
        usage: { inputTokens: 300, outputTokens: 40 },
      }
    : { text: `Invoice ${invoice} is paid.`, usage: { inputTokens: 400, outputTokens: 20 } };
});

const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
const settle = () => {
  globalThis.gc?.();
  return process.memoryUsage().rss;
};
const heap = () => {
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
};

async function runtimeOn(path: string) {
  const store = await levelStore({ path });
  return {
    store,
    runtime: createRuntime({
      model,
      tools: [payTool],
      store,
      unloadParked: true,
      ...(process.env.NO_EVENT_LOG ? { eventLog: false as const } : {}),
    }),
  };
}

if (mode === 'park') {
  const { store, runtime } = await runtimeOn(join(dir ?? '.', 'store'));
  const before = settle();
  const heapBefore = heap();
  const requests: [string, string][] = [];
  const started = performance.now();
  for (let from = 0; from < total; from += batch) {
    const runs: RunHandle[] = [];
    for (let n = from; n < Math.min(total, from + batch); n++) {
      const run = runtime.start({ input: `INV-${n}`, runId: `invoice-${n}` });
      run.events$.subscribe(
        (event) => event.type === 'input-request' && requests.push([run.id, event.request.requestId]),
      );
      runs.push(run);
    }
    for (const result of await Promise.all(runs.map((run) => run.result))) {
      if (result.status !== 'waiting_input') throw new Error(`${result.runId} ended ${result.status}`);
    }
    // The scripted model keeps every request it was sent; a real model keeps none.
    model.requests.length = 0;
  }
  const parkSeconds = (performance.now() - started) / 1000;
  const after = settle();
  const heapAfter = heap();
  writeFileSync(join(dir ?? '.', 'requests.json'), JSON.stringify(requests));
  console.log(
    JSON.stringify({
      bench: 'parked-runs',
      phase: 'park',
      runs: total,
      parkSeconds: Math.round(parkSeconds * 100) / 100,
      processRssMb: mb(after),
      heapUsedMb: mb(heapAfter),
      heapBytesPerParkedRun: Math.max(0, Math.round((heapAfter - heapBefore) / total)),
      rssBytesPerParkedRun: Math.max(0, Math.round((after - before) / total)),
    }),
  );
  await runtime.close();
  await store.close();
} else if (mode === 'answer') {
  const requests = JSON.parse(readFileSync(join(dir ?? '.', 'requests.json'), 'utf8')) as [string, string][];
  const { store, runtime } = await runtimeOn(join(dir ?? '.', 'store'));
  const rssBefore = settle();
  let steps = 0;
  const started = performance.now();
  for (let from = 0; from < requests.length; from += batch) {
    const results = await Promise.all(
      requests.slice(from, from + batch).map(async ([runId, requestId]) => {
        const handle = await runtime.approve(runId, requestId);
        return handle.result;
      }),
    );
    for (const result of results) {
      if (result.status !== 'done')
        throw new Error(`${result.runId} ended ${result.status}: ${result.error?.message}`);
      steps += 1;
    }
    model.requests.length = 0;
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    JSON.stringify({
      bench: 'parked-runs',
      phase: 'answer',
      runs: requests.length,
      rssBeforeAnsweringMb: mb(rssBefore),
      secondsToLoadAnswerAndFinishAll: Math.round(seconds * 100) / 100,
      runsPerSecond: Math.round(requests.length / seconds),
      stepsPerSecond: Math.round(steps / seconds),
    }),
  );
  await runtime.close();
  await store.close();
} else {
  const work = mkdtempSync(join(tmpdir(), 'agentchart-bench-parked-'));
  const root = fileURLToPath(new URL('..', import.meta.url));
  // The package as users run it: compiled, imported by name (inside the package, so that it resolves to dist/).
  execFileSync(process.execPath, [
    join(root, 'node_modules/typescript/bin/tsc'),
    '-p',
    join(root, 'tsconfig.build.json'),
  ]);
  const compiled = join(root, 'bench/.out/parked-runs.mjs');
  buildSync({
    entryPoints: [fileURLToPath(import.meta.url)],
    outfile: compiled,
    format: 'esm',
    platform: 'node',
    logLevel: 'error',
  });
  const run = (phase: string) =>
    execFileSync(process.execPath, ['--expose-gc', compiled, phase, work], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
  try {
    const park = JSON.parse(run('park')) as { processRssMb: number };
    console.log(JSON.stringify(park));
    const answer = JSON.parse(run('answer')) as { secondsToLoadAnswerAndFinishAll: number };
    console.log(JSON.stringify(answer));
    console.log(
      JSON.stringify({
        bench: 'parked-runs',
        summary: true,
        targets: { processRssMbUnder: 200, secondsUnder: 20 },
        pass: park.processRssMb < 200 && answer.secondsToLoadAnswerAndFinishAll < 20,
      }),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
