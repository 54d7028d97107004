import { describe, expect, it } from 'vitest';
import { toApiContent } from './anthropic-messages.js';

describe('toApiContent', () => {
  it('sends a tool call whose input is not an object (as older checkpoints may hold) with input {}', () => {
    const call = { type: 'tool-call' as const, toolCallId: 't1', toolName: 'add' };
    expect(
      toApiContent([
        { ...call, input: '{"a": 1' },
        { ...call, toolCallId: 't2', input: [1, 2] },
        { ...call, toolCallId: 't3', input: { a: 1 } },
      ]).map((block) => (block as { input: unknown }).input),
    ).toEqual([{}, {}, { a: 1 }]);
  });
});
