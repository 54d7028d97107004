import { describe, expect, it } from 'vitest';
import { type RawStreamEvent, readAnthropicStream } from './anthropic-stream.js';

async function read(events: RawStreamEvent[]) {
  const parts = [];
  const reader = readAnthropicStream(
    (async function* () {
      yield* events;
    })(),
  );
  for (;;) {
    const next = await reader.next();
    if (next.done) return { parts, result: next.value };
    parts.push(next.value);
  }
}

const usage = { input_tokens: 10, output_tokens: 1 };

describe('readAnthropicStream', () => {
  it('yields one part per event, a keep-alive for those with no output (a tool input streaming in)', async () => {
    const events: RawStreamEvent[] = [
      { type: 'message_start', message: { usage } },
      { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 't1', name: 'add' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"a":' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '1}' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 5 } },
      { type: 'message_stop' },
    ];
    const { parts, result } = await read(events);
    expect(parts.map((part) => part.type)).toEqual([
      'keep-alive',
      'keep-alive',
      'keep-alive',
      'keep-alive',
      'tool-call',
      'keep-alive',
      'keep-alive',
    ]);
    expect(result).toMatchObject({
      stopReason: 'tool_use',
      content: [{ type: 'tool-call', input: { a: 1 } }],
    });
  });
});
