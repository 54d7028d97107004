/**
 * A run survives `kill -9`: this example starts an agent in a child process, kills that process
 * with SIGKILL halfway through, and then recovers the run in this one. The tool calls that had
 * completed are not executed again; the run continues from its last checkpoint and finishes.
 *
 *   npx tsx --conditions=agentchart-source examples/resume-after-crash.ts
 *
 * It uses a scripted model so that the crash lands at the same place every time.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRuntime, defineTool, openStore } from 'agentchart';
import { scriptedModel } from 'agentchart/testing';
import { z } from 'zod';

const plan = [['Paris'], ['Lisbon', 'Oslo'], ['Rome']];
const cities = plan.flat();

/**
 * A tool with a side effect: it appends a booking to a file. It deduplicates on its idempotency
 * key, as a tool with side effects should: a call that was in flight at a crash runs again.
 */
function bookingTool(bookings: string) {
  return defineTool({
    name: 'book_hotel',
    description: 'Books a hotel room in a city',
    input: z.object({ city: z.string() }),
    execute: async ({ city }, { idempotencyKey }) => {
      const done = existsSync(bookings) ? readFileSync(bookings, 'utf8') : '';
      if (done.includes(`${idempotencyKey} `))
        return { city, confirmation: `BK-${city.toUpperCase()}`, deduplicated: true };
      appendFileSync(bookings, `${idempotencyKey} ${city}\n`);
      // Oslo's hotel answers slowly: its booking is made, but the call has not returned yet.
      if (city === 'Oslo') await sleep(500);
      return { city, confirmation: `BK-${city.toUpperCase()}` };
    },
  });
}

// The same answer for the same conversation, in any process.
const model = scriptedModel((request) => {
  const turn = request.messages.filter((message) => message.role === 'assistant').length;
  const batch = plan[turn];
  if (batch === undefined) return { text: `All ${cities.length} hotels are booked.`, tokenDelayMs: 10 };
  return {
    text: `Booking ${batch.join(' and ')}.`,
    toolCalls: batch.map((city) => ({
      name: 'book_hotel',
      input: { city },
      id: `booking-${city.toLowerCase()}`,
    })),
    tokenDelayMs: 10,
  };
});

const [mode, directory] = process.argv.slice(2);

if (mode === 'crash') {
  // The child: runs the agent, and dies by SIGKILL while Oslo's booking call is in flight.
  const store = await openStore(process.env.AGENTCHART_STORE ?? join(directory ?? '.', 'store'));
  const runtime = createRuntime({
    model,
    tools: [bookingTool(join(directory ?? '.', 'bookings.txt'))],
    store,
  });
  const run = runtime.start({ input: `Book a hotel in ${cities.join(', ')}.`, runId: 'trip' });
  run.events$.subscribe((event) => {
    if (event.type === 'tool-result') console.log(`  [child] booked ${JSON.stringify(event.output)}`);
    if (
      event.type === 'tool-result' &&
      event.toolName === 'book_hotel' &&
      JSON.stringify(event.output).includes('Lisbon')
    ) {
      setTimeout(() => process.kill(process.pid, 'SIGKILL'), 50);
    }
    if (event.type === 'checkpoint')
      console.log(`  [child] checkpoint ${event.checkpointId} (${event.phase})`);
  });
  await run.result;
} else {
  const dir = mkdtempSync(join(tmpdir(), 'agentchart-crash-example-'));
  const bookings = join(dir, 'bookings.txt');
  console.log('Starting the trip in a child process, which will be killed with SIGKILL...');
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1] ?? '', 'crash', dir], {
    stdio: 'inherit',
  });
  const signal = await new Promise((resolve) => child.once('exit', (_, killedBy) => resolve(killedBy)));
  console.log(`Child ended by ${String(signal)}. Bookings so far:\n${readFileSync(bookings, 'utf8')}`);

  const store = await openStore(process.env.AGENTCHART_STORE ?? join(dir, 'store'));
  const runtime = createRuntime({ model, tools: [bookingTool(bookings)], store });
  console.log(
    `Runs left unfinished: ${(await runtime.runs.list({ status: 'active' })).map((run) => run.runId).join(', ')}`,
  );
  const [run] = await runtime.recover();
  if (run === undefined) throw new Error('nothing to recover');
  run.events$.subscribe((event) => {
    if (event.type === 'run-start') console.log(`Recovered '${run.id}' from checkpoint ${event.resumedFrom}`);
    if (event.type === 'tool-result') {
      const how = event.replayed ? 'from the journal, not run again' : 'ran (again, if it was in flight)';
      console.log(`  ${event.toolCallId}: ${how}: ${JSON.stringify(event.output)}`);
    }
  });
  const result = await run.result;
  console.log(`\n${result.output} (status: ${result.status}, turns: ${result.usage.turns})`);

  const lines = readFileSync(bookings, 'utf8').trim().split('\n');
  console.log(`Bookings made: ${lines.length} for ${cities.length} cities (no double booking)`);

  const [last] = await runtime.checkpoints.list({ runId: 'trip', limit: 1 });
  const exported = await runtime.checkpoints.export(last?.id ?? '', join(dir, 'trip.json'));
  console.log(
    `Checkpoints of the trip: ${(await runtime.checkpoints.list({ runId: 'trip' })).length}; last exported to ${exported}`,
  );
  await runtime.close();
  await store.close();
  process.exitCode = result.success && lines.length === cities.length && existsSync(exported) ? 0 : 1;
}
