import { randomBytes } from 'node:crypto';
import { defineTool, type Message } from 'agentchart';
import { scriptedModel } from 'agentchart/testing';
import { z } from 'zod';

/** Bytes of text a turn streams, and of the result its tool call returns. */
export const textBytes = 1024;
export const toolResultBytes = 4096;

/**
 * `length` characters that no compressor can shrink and that no earlier call returned: base64 of
 * random bytes (6 bits of entropy per character, which snappy, LevelDB's compressor, cannot take).
 */
export function freshText(length: number): string {
  return randomBytes(Math.ceil((length * 3) / 4))
    .toString('base64')
    .slice(0, length);
}

/** The tool of the workload: returns 4 KB that no store has seen. */
export const fetchFreshPage = defineTool({
  name: 'fetch_page',
  description: 'Returns 4 KB',
  input: z.object({ page: z.number() }),
  execute: async () => freshText(toolResultBytes),
});

/** How many assistant turns a conversation holds. */
function assistantTurns(messages: readonly Message[]): number {
  let turns = 0;
  for (const message of messages) if (message.role === 'assistant') turns++;
  return turns;
}

/**
 * A scripted model that streams 1 KB of new text on every turn (in 64 deltas) and calls
 * `fetch_page` on every turn of a run but its last (of `turns`), which answers.
 */
export function freshWorkloadModel(turns: number) {
  return scriptedModel((request) => {
    const turn = assistantTurns(request.messages);
    const usage = { inputTokens: 1000, outputTokens: 300 };
    const text = freshText(textBytes);
    if (turn === turns - 1) return { text, usage };
    return { text, toolCalls: [{ name: 'fetch_page', input: { page: turn } }], usage };
  });
}
