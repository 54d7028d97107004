/**
 * A/B test two system prompts: run once, fork the first checkpoint into two branches with
 * different prompts, run them side by side, and compare them. Then look back at a run's history,
 * and replay it from its record without calling the model.
 *
 *   npx tsx --conditions=agentchart-source examples/ab-test-prompts.ts
 *
 * With ANTHROPIC_API_KEY set it talks to Claude; without it a scripted model answers differently
 * for each prompt.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, defineTool, type ModelClient, openStore } from 'agentchart';
import { scriptedModel } from 'agentchart/testing';
import { z } from 'zod';

const prices: Record<string, number> = { espresso: 2.1, cappuccino: 3.4, 'flat white': 3.6 };
const lookupPrice = defineTool({
  name: 'lookup_price',
  description: 'The price of a drink on the menu, in euros',
  input: z.object({ drink: z.string() }),
  execute: async ({ drink }) => prices[drink.toLowerCase()] ?? null,
});

async function chooseModel(): Promise<ModelClient> {
  if (process.env.ANTHROPIC_API_KEY) {
    const { anthropicModel } = await import('agentchart/anthropic');
    return anthropicModel({ maxTokens: 512 });
  }
  // The careful prompt checks the menu first; the quick one answers from memory.
  return scriptedModel((request) => {
    const careful = request.system?.includes('check') ?? false;
    const lastIsResult =
      request.messages.at(-1)?.content.some((block) => block.type === 'tool-result') ?? false;
    if (careful && !lastIsResult) {
      return {
        text: 'Let me check the menu.',
        toolCalls: [{ name: 'lookup_price', input: { drink: 'cappuccino' } }],
        usage: { inputTokens: 180, outputTokens: 25 },
      };
    }
    return careful
      ? { text: 'A cappuccino is 3.40 EUR.\nEnjoy!', usage: { inputTokens: 230, outputTokens: 15 } }
      : { text: 'A cappuccino is about 3 EUR.\nEnjoy!', usage: { inputTokens: 120, outputTokens: 12 } };
  });
}

// A new LevelDB folder, or the store AGENTCHART_STORE names (a folder or a postgres:// URL).
const store = await openStore(process.env.AGENTCHART_STORE ?? mkdtempSync(join(tmpdir(), 'agentchart-ab-')));
const runtime = createRuntime({
  model: await chooseModel(),
  tools: [lookupPrice],
  store,
  systemPrompt: 'Answer quickly.',
});

const baseline = await runtime.start({ input: 'How much is a cappuccino?', runId: 'baseline' }).result;
console.log(`baseline: ${baseline.output?.replaceAll('\n', ' ')}`);

// Fork the run's first checkpoint (the question, before any answer) two ways, and run both at once.
const [start] = await runtime.checkpoints.list({ runId: 'baseline', order: 'asc', limit: 1 });
const [quick, careful] = await runtime.forkMany(start?.id ?? '', [
  { systemPrompt: 'Answer quickly.' },
  { systemPrompt: 'Answer precisely; check the menu with your tools.' },
]);
await Promise.all([quick?.result, careful?.result]);

const comparison = await runtime.compare(quick?.id ?? '', careful?.id ?? '');
console.log(`\ncommon ancestor: ${comparison.commonAncestor}`);
console.log(
  `they diverge at message ${comparison.divergence?.messageIndex} (turn ${comparison.divergence?.turn})`,
);
for (const { op, line } of comparison.outputDiff)
  console.log(`  ${{ same: ' ', removed: '-', added: '+' }[op]} ${line}`);
console.log(
  `turns: ${comparison.a.turns} vs ${comparison.b.turns}; tokens: +${comparison.usageDelta.inputTokens} in, +${comparison.usageDelta.outputTokens} out`,
);
console.log(`tool calls only in the careful branch: ${JSON.stringify(comparison.b.toolCallsOnlyHere)}`);

const history = await runtime.history(careful?.id ?? '');
console.log(`\nhistory of the careful branch (forked from ${history.parent?.checkpointId}):`);
for (const point of history.checkpoints)
  console.log(`  step ${point.stepNum} ${point.phase.padEnd(5)} ${point.summary}`);
console.log(`baseline's branches: ${(await runtime.history('baseline')).children.length}`);

const replay = await runtime.replay(careful?.id ?? '');
console.log(
  `\nreplayed without the model: states ${replay.states.join(' -> ')}; same states: ${replay.sameStates}, same answer: ${replay.sameOutput}`,
);

await runtime.close();
await store.close();
process.exitCode = replay.sameStates && replay.sameOutput ? 0 : 1;
