/**
 * Watch a run live in the Stately inspector.
 *
 *   npx tsx --conditions=agentchart-source examples/inspect.ts
 *
 * then open http://localhost:8080 in a browser: it embeds https://stately.ai/inspect and relays the
 * run's statechart (its states, events and context) over a local WebSocket. The scripted model
 * streams slowly so there is time to watch plan -> act -> observe go round.
 */
import { createWebSocketInspector } from '@statelyai/inspect';
import { createInspectorServer } from '@statelyai/inspect/server';
import { createRuntime, defineTool } from 'agentchart';
import { scriptedModel } from 'agentchart/testing';
import { z } from 'zod';

const port = Number(process.env.INSPECTOR_PORT ?? 8080);
const relay = createInspectorServer({ port, autoOpen: false });
const inspector = createWebSocketInspector({ url: `ws://localhost:${port}` });
console.log(`Open http://localhost:${port} to watch the run in the Stately inspector.`);

const roll = defineTool({
  name: 'roll_die',
  description: 'Rolls a die with the given number of sides',
  input: z.object({ sides: z.number().int().min(2) }),
  execute: async ({ sides }) => 1 + Math.floor(Math.random() * sides),
});

const model = scriptedModel([
  {
    text: 'Rolling a d20 for you.',
    toolCalls: [{ name: 'roll_die', input: { sides: 20 } }],
    tokenDelayMs: 150,
  },
  {
    text: 'And a d6 for good measure.',
    toolCalls: [{ name: 'roll_die', input: { sides: 6 } }],
    tokenDelayMs: 150,
  },
  { text: 'Both dice are rolled; see the tool results above.', tokenDelayMs: 150 },
]);

const runtime = createRuntime({ model, tools: [roll], inspect: inspector.inspect });
const run = runtime.start({ input: 'Roll some dice' });
run.events$.subscribe((event) => {
  if (event.type === 'phase') console.log(`phase: ${event.phase}`);
  if (event.type === 'tool-result') console.log(`  ${event.toolName} -> ${JSON.stringify(event.output)}`);
});
console.log(`result: ${(await run.result).status}`);

// Leave time for the inspector to receive the last snapshots, then shut everything down.
await new Promise((resolve) => setTimeout(resolve, Number(process.env.INSPECTOR_LINGER_MS ?? 5_000)));
inspector.stop();
relay.stop();
await runtime.close();
