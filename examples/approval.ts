/**
 * Human in the loop: the agent asks the user a question, then wants to pay an invoice, which
 * needs approval. The process "goes down" while the run waits; a new runtime, on the same LevelDB
 * store, takes the approval later and the run finishes. Budgets and timeouts bound the run.
 *
 *   npx tsx --conditions=agentchart-source examples/approval.ts
 *
 * A scripted model stands in for Claude, so that the conversation is the same every time.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { askUser, createRuntime, defineTool, openStore, type RuntimeConfig } from 'agentchart';
import { scriptedModel } from 'agentchart/testing';
import { z } from 'zod';

const payInvoice = defineTool({
  name: 'pay_invoice',
  description: 'Pays an invoice from the company account',
  input: z.object({ invoice: z.string(), amountEur: z.number().positive() }),
  // Small payments go through; anything over 100 EUR waits for a human.
  needsApproval: ({ amountEur }) => amountEur > 100,
  execute: async ({ invoice, amountEur }) => ({ invoice, amountEur, status: 'paid' }),
});
const ask = askUser({ answer: z.object({ invoice: z.string().regex(/^INV-\d+$/) }) });

const model = scriptedModel(
  (request) => {
    switch (request.messages.filter((message) => message.role === 'assistant').length) {
      case 0:
        return {
          text: 'Which invoice?',
          toolCalls: [{ name: 'ask_user', input: { question: 'Which invoice should I pay?' } }],
          usage: { inputTokens: 420, outputTokens: 35 },
        };
      case 1:
        return {
          text: 'Paying it.',
          toolCalls: [{ name: 'pay_invoice', input: { invoice: 'INV-7', amountEur: 950 } }],
          usage: { inputTokens: 510, outputTokens: 40 },
        };
      default:
        return { text: 'Invoice INV-7 (950 EUR) is paid.', usage: { inputTokens: 600, outputTokens: 20 } };
    }
  },
  { modelId: 'claude-haiku-4-5' },
);

// A new LevelDB folder, or the store AGENTCHART_STORE names (a folder or a postgres:// URL).
const store = await openStore(
  process.env.AGENTCHART_STORE ?? mkdtempSync(join(tmpdir(), 'agentchart-approval-')),
);
const config: RuntimeConfig = {
  model,
  tools: [ask, payInvoice],
  store,
  limits: { maxTurns: 8, maxCostUsd: 0.25 },
  timeouts: { totalMs: 24 * 60 * 60 * 1000, toolMs: 10_000 },
};

// Process 1: the run asks a question; "the user" answers (once badly, then right); then the
// payment waits for approval and the process shuts down.
const first = createRuntime(config);
const run = first.start({ input: 'Pay the supplier invoice.', runId: 'pay-supplier' });
run.events$.subscribe(async (event) => {
  if (event.type !== 'input-request') return;
  const { request } = event;
  console.log(`[${request.kind}] ${request.prompt}`);
  if (request.kind === 'input') {
    await run.respond(request.requestId, { invoice: 'seven' }).catch((error: Error & { code?: string }) => {
      console.log(`  refused answer: ${error.code}: ${error.message.split('\n')[0]}`);
    });
    await run.respond(request.requestId, { invoice: 'INV-7' });
    console.log('  answered: INV-7');
  }
});
await new Promise<void>((resolve) => {
  run.events$.subscribe(
    (event) => event.type === 'input-request' && event.request.kind === 'approval' && resolve(),
  );
});
const waiting = await first.status('pay-supplier');
console.log(`Run waits for: ${waiting.pendingRequests.map((request) => request.requestId).join(', ')}`);
await first.close();
console.log(`Process 1 closed; the run is ${(await run.result).status} in the store.\n`);

// Process 2, a day later: an operator approves by run id; the run loads and finishes.
const second = createRuntime(config);
const [approval] = (await second.status('pay-supplier')).pendingRequests;
console.log(`Approving ${approval?.requestId} (${approval?.prompt})`);
const resumed = await second.approve('pay-supplier', approval?.requestId ?? '');
resumed.events$.subscribe((event) => {
  if (event.type === 'tool-result') console.log(`  ${event.toolName} -> ${JSON.stringify(event.output)}`);
});
const result = await resumed.result;
console.log(
  `${result.output} (status: ${result.status}, turns: ${result.usage.turns}, cost: $${result.usage.costUsd.toFixed(6)})`,
);
await second.close();
await store.close();
process.exitCode = result.success ? 0 : 1;
