import { defineTool } from 'agentchart';
import { scriptedModel } from 'agentchart/testing';
import { z } from 'zod';

/** The agent-loop workload: each turn streams 1 KB of text and calls one tool that returns 4 KB. */
const text = 'x'.repeat(1024);
const toolResult = 'y'.repeat(4096);

/** The tool of the workload: returns 4 KB. */
export const fetchPage = defineTool({
  name: 'fetch_page',
  description: 'Returns 4 KB',
  input: z.object({ page: z.number() }),
  execute: async ({ page }) => `${page}:${toolResult}`,
});

/** A scripted model that calls `fetch_page` on every turn of a run but its last (of `turns`), which answers. */
export function workloadModel(turns: number) {
  return scriptedModel((request) => {
    const turn = request.messages.filter((message) => message.role === 'assistant').length;
    const usage = { inputTokens: 1000, outputTokens: 300 };
    if (turn === turns - 1) return { text, usage };
    return { text, toolCalls: [{ name: 'fetch_page', input: { page: turn } }], usage };
  });
}
