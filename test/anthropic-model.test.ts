import Anthropic from '@anthropic-ai/sdk';
import { createRuntime, memoryStore, type Runtime, type RuntimeConfig } from 'agentchart';
import { type AnthropicModelOptions, anthropicModel } from 'agentchart/anthropic';
import {
  type FakeAnthropicScript,
  type FakeAnthropicServer,
  startFakeAnthropicServer,
} from 'agentchart/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { adder, collect, ofType } from './helpers.js';

let server: FakeAnthropicServer | undefined;
let runtime: Runtime | undefined;

afterEach(async () => {
  await runtime?.close();
  await server?.close();
  runtime = undefined;
  server = undefined;
});

/** The messages of the request with this index, as the server received them. */
function sentMessages(index: number): { role: string; content: unknown[] }[] {
  const request = server?.requests[index];
  if (request === undefined) throw new Error(`The server received no request ${index}`);
  return request.body.messages as { role: string; content: unknown[] }[];
}

async function setUp(
  script: FakeAnthropicScript,
  options: AnthropicModelOptions = {},
  config: Partial<RuntimeConfig> = {},
) {
  server = await startFakeAnthropicServer(script);
  const add = adder();
  const model = anthropicModel({ baseURL: server.url, apiKey: 'test-key', ...options });
  runtime = createRuntime({
    store: memoryStore(),
    model,
    tools: [add.tool],
    retry: { baseDelayMs: 1 },
    ...config,
  });
  return { server, runtime, calls: add.calls };
}

describe('anthropicModel against the Messages API over HTTP', () => {
  it('streams text as several deltas and sends a well-formed request', async () => {
    const { server, runtime } = await setUp([{ text: 'Hello from a fake Claude!', chunkSize: 4 }]);
    const run = runtime.start({ input: 'Hi' });
    const events = await collect(run);
    const deltas = ofType(events, 'text-delta');
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.map((delta) => delta.text).join('')).toBe('Hello from a fake Claude!');
    const result = await run.result;
    expect(result).toMatchObject({ status: 'done', success: true, output: 'Hello from a fake Claude!' });
    expect(result.usage).toMatchObject({ inputTokens: 10, outputTokens: 20, turns: 1 });
    const [request] = server.requests;
    expect(request?.headers.authorization).toBe('Bearer test-key');
    expect(request?.body).toMatchObject({
      model: 'claude-sonnet-5-5',
      stream: true,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
      tools: [{ name: 'add', input_schema: { type: 'object', required: ['a', 'b'] } }],
    });
  });

  it('assembles a tool input that arrives in many input_json_delta chunks, then sends its result', async () => {
    const input = { a: 123456, b: 654321 };
    const { runtime, calls } = await setUp([
      { toolCalls: [{ name: 'add', input, id: 'toolu_1' }], chunkSize: 2 },
      { text: 'The sum is 777777.' },
    ]);
    const run = runtime.start({ input: 'Add them' });
    const events = await collect(run);
    expect(calls).toEqual([input]);
    expect(ofType(events, 'tool-call')).toMatchObject([{ toolCallId: 'toolu_1', toolName: 'add', input }]);
    expect(ofType(events, 'tool-result')).toMatchObject([{ toolCallId: 'toolu_1', output: 777777 }]);
    expect((await run.result).output).toBe('The sum is 777777.');
    const messages = sentMessages(1);
    expect(messages.at(-2)).toEqual({
      role: 'assistant',
      content: [{ type: 'tool_use', id: 'toolu_1', name: 'add', input }],
    });
    expect(messages.at(-1)).toEqual({
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '777777', is_error: false }],
    });
  });

  it('never runs a call whose input is not valid JSON, and tells the model in a request the API accepts', async () => {
    const { runtime, calls } = await setUp([
      { toolCalls: [{ name: 'add', inputJson: '{"a": 1, "b": 2', id: 'toolu_bad' }], chunkSize: 3 },
      { text: 'Sorry, let me try again.' },
    ]);
    const run = runtime.start({ input: 'Add' });
    const events = await collect(run);
    expect(await run.result).toMatchObject({ success: true, output: 'Sorry, let me try again.' });
    expect(calls).toEqual([]);
    expect(ofType(events, 'tool-error')).toMatchObject([
      { toolCallId: 'toolu_bad', code: 'TOOL_INPUT_INVALID' },
    ]);
    const [assistant, toolResults] = sentMessages(1).slice(-2);
    expect(assistant).toEqual({
      role: 'assistant',
      content: [{ type: 'tool_use', id: 'toolu_bad', name: 'add', input: {} }],
    });
    expect(toolResults).toMatchObject({
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: 'toolu_bad', is_error: true }],
    });
    const result = toolResults?.content[0] as { content: string };
    expect(result.content).toContain('not valid JSON');
    expect(result.content).toContain('{"a": 1, "b": 2');
  });

  it('runs two tool calls of one turn and answers both in one message', async () => {
    const { runtime, calls } = await setUp([
      {
        text: 'Two sums.',
        toolCalls: [
          { name: 'add', input: { a: 1, b: 2 }, id: 'toolu_a' },
          { name: 'add', input: { a: 3, b: 4 }, id: 'toolu_b' },
        ],
      },
      { text: '3 and 7.' },
    ]);
    const run = runtime.start({ input: 'Add' });
    await run.result;
    expect(calls).toHaveLength(2);
    const last = sentMessages(1).at(-1);
    expect(last?.content).toEqual([
      { type: 'tool_result', tool_use_id: 'toolu_a', content: '3', is_error: false },
      { type: 'tool_result', tool_use_id: 'toolu_b', content: '7', is_error: false },
    ]);
  });

  it('retries a 529 and then succeeds, emitting a retry event', async () => {
    const { server, runtime } = await setUp([
      {
        status: 529,
        error: { type: 'overloaded_error', message: 'Overloaded' },
        headers: { 'retry-after-ms': '5' },
      },
      { text: 'Made it.' },
    ]);
    const run = runtime.start({ input: 'Hi' });
    const events = await collect(run);
    expect(ofType(events, 'retry')).toMatchObject([{ attempt: 1, errorClass: 'overloaded', delayMs: 5 }]);
    expect(await run.result).toMatchObject({ success: true, output: 'Made it.' });
    expect(server.requests).toHaveLength(2);
  });

  it('retries an overloaded_error in the middle of a stream and discards the partial attempt', async () => {
    const { runtime } = await setUp([
      { text: 'This first attempt will be cut off', errorAfterEvents: 6 },
      { text: 'Second attempt.' },
    ]);
    const run = runtime.start({ input: 'Hi' });
    const events = await collect(run);
    const retryAt = events.findIndex((event) => event.type === 'retry');
    expect(retryAt).toBeGreaterThan(0);
    const before = ofType(events.slice(0, retryAt), 'text-delta');
    const after = ofType(events.slice(retryAt), 'text-delta');
    expect(before.length).toBeGreaterThan(0);
    expect(after.map((delta) => delta.text).join('')).toBe('Second attempt.');
    expect(ofType(events, 'retry')[0]).toMatchObject({ errorClass: 'overloaded' });
    expect((await run.result).output).toBe('Second attempt.');
  });

  it('retries a dropped connection and a stream that ends before message_stop', async () => {
    const { server, runtime } = await setUp([
      { text: 'dropped', dropAfterEvents: 4 },
      { text: 'dropped in the middle of the body', dropAfterEvents: 6, eventDelayMs: 5 },
      { text: 'ended early', endAfterEvents: 5 },
      { text: 'Whole.' },
    ]);
    const run = runtime.start({ input: 'Hi' });
    const events = await collect(run);
    expect(ofType(events, 'retry').map((retry) => retry.errorClass)).toEqual([
      'network',
      'network',
      'network',
    ]);
    expect((await run.result).output).toBe('Whole.');
    expect(server.requests).toHaveLength(4);
  });

  it('retries a 200 whose body is empty or not SSE, as a stream that ended early', async () => {
    const { server, runtime } = await setUp([
      { body: '' },
      { body: 'this is not a stream of events\n' },
      { body: '{"type":"message","content":[]}', headers: { 'content-type': 'application/json' } },
      { text: 'Whole.' },
    ]);
    const run = runtime.start({ input: 'Hi' });
    const events = await collect(run);
    expect(ofType(events, 'retry')).toMatchObject([
      { attempt: 1, errorClass: 'network' },
      { attempt: 2, errorClass: 'network' },
      { attempt: 3, errorClass: 'network' },
    ]);
    expect(await run.result).toMatchObject({ success: true, output: 'Whole.' });
    expect(server.requests).toHaveLength(4);
  });

  it('fails an empty stream that keeps coming back once the retries run out, recoverable', async () => {
    const { runtime } = await setUp(
      [{ body: '' }, { body: '' }],
      {},
      { retry: { maxRetries: 1, baseDelayMs: 1 } },
    );
    const result = await runtime.start({ input: 'Hi' }).result;
    expect(result).toMatchObject({
      status: 'failed',
      error: { errorClass: 'network', recoverable: true, details: { code: 'MODEL_STREAM_INCOMPLETE' } },
    });
  });

  it("gives up after the runtime's retry.maxRetries with a recoverable error", async () => {
    const overloaded = { status: 529, error: { type: 'overloaded_error', message: 'Overloaded' } };
    const { server, runtime } = await setUp(
      [overloaded, overloaded, overloaded],
      {},
      {
        retry: { maxRetries: 2, baseDelayMs: 1 },
      },
    );
    const result = await runtime.start({ input: 'Hi' }).result;
    expect(result).toMatchObject({
      status: 'failed',
      error: { errorClass: 'overloaded', recoverable: true },
    });
    expect(result.error?.details).toMatchObject({ status: 529, code: 'MODEL_ERROR' });
    expect(server.requests).toHaveLength(3);
  });

  it('uses a given SDK client, with its own retries turned off in favour of visible ones', async () => {
    server = await startFakeAnthropicServer([
      {
        status: 529,
        error: { type: 'overloaded_error', message: 'Overloaded' },
        headers: { 'retry-after-ms': '1' },
      },
      { text: 'From a custom client.' },
    ]);
    const client = new Anthropic({ baseURL: server.url, apiKey: 'custom-key', maxRetries: 5 });
    runtime = createRuntime({
      store: memoryStore(),
      model: anthropicModel({ client, model: 'claude-haiku-5-5', maxTokens: 100 }),
    });
    const run = runtime.start({ input: 'Hi' });
    const events = await collect(run);
    expect((await run.result).output).toBe('From a custom client.');
    expect(ofType(events, 'retry')).toHaveLength(1);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]?.headers.authorization).toBe('Bearer custom-key');
    expect(server.requests[1]?.body).toMatchObject({ model: 'claude-haiku-5-5', max_tokens: 100 });
  });

  it('maps a 401 to authentication and does not retry it', async () => {
    const { server, runtime } = await setUp([
      { status: 401, error: { type: 'authentication_error', message: 'invalid x-api-key' } },
    ]);
    const result = await runtime.start({ input: 'Hi' }).result;
    expect(result).toMatchObject({
      status: 'failed',
      error: { errorClass: 'authentication', recoverable: false },
    });
    expect(result.error?.message).toBe('Anthropic API error (authentication, HTTP 401): invalid x-api-key');
    expect(server.requests).toHaveLength(1);
  });

  it('aborts the HTTP stream when the run is cancelled mid-stream', async () => {
    const { server, runtime } = await setUp([
      { text: 'a long answer '.repeat(50), chunkSize: 2, eventDelayMs: 5 },
    ]);
    const controller = new AbortController();
    const run = runtime.start({ input: 'Hi', signal: controller.signal });
    const events: string[] = [];
    run.events$.subscribe((event) => {
      events.push(event.type);
      if (event.type === 'text-delta' && events.filter((type) => type === 'text-delta').length === 3) {
        controller.abort('user left');
      }
    });
    const result = await run.result;
    expect(result).toMatchObject({
      status: 'cancelled',
      error: { errorClass: 'cancelled', details: { reason: 'user left' } },
    });
    expect(events.filter((type) => type === 'text-delta').length).toBeLessThan(10);
    expect(server.requests).toHaveLength(1);
    await vi.waitFor(() => expect(server.requests[0]?.closedEarly).toBe(true));
  });

  it('never executes a tool call cut off by max_tokens', async () => {
    const { runtime, calls } = await setUp([
      { toolCalls: [{ name: 'add', input: { a: 1, b: 2 } }], stopReason: 'max_tokens' },
    ]);
    const run = runtime.start({ input: 'Add' });
    const events = await collect(run);
    const result = await run.result;
    expect(result).toMatchObject({
      status: 'failed',
      error: { errorClass: 'max_tokens', recoverable: false },
    });
    expect(result.error?.message).toContain("'add'");
    expect(calls).toHaveLength(0);
    expect(ofType(events, 'tool-call')).toHaveLength(0);
  });

  it('announces no tool-call of a max_tokens turn, not even a call whose input was complete', async () => {
    const { runtime, calls } = await setUp([
      {
        text: 'Two sums.',
        toolCalls: [
          { name: 'add', input: { a: 1, b: 2 }, id: 'toolu_whole' },
          { name: 'add', input: { a: 3, b: 4 }, id: 'toolu_cut' },
        ],
        stopReason: 'max_tokens',
      },
    ]);
    const run = runtime.start({ input: 'Add' });
    const events = await collect(run);
    expect(await run.result).toMatchObject({ status: 'failed', error: { errorClass: 'max_tokens' } });
    expect(calls).toHaveLength(0);
    expect(ofType(events, 'tool-call')).toEqual([]);
    expect(ofType(events, 'text-delta').length).toBeGreaterThan(0);
  });

  it('fails a refusal with errorClass refusal', async () => {
    const { runtime } = await setUp([{ text: 'I cannot help with that.', stopReason: 'refusal' }]);
    const result = await runtime.start({ input: 'Something bad' }).result;
    expect(result).toMatchObject({
      status: 'failed',
      error: { errorClass: 'refusal' },
      output: 'I cannot help with that.',
    });
  });

  it('fails a turn that outgrew the context window, counting its usage', async () => {
    const { runtime } = await setUp([
      {
        text: 'Partial',
        stopReason: 'model_context_window_exceeded',
        usage: { inputTokens: 1234, outputTokens: 56 },
      },
    ]);
    const run = runtime.start({ input: 'A very long conversation' });
    const events = await collect(run);
    const result = await run.result;
    expect(result).toMatchObject({
      status: 'failed',
      error: { errorClass: 'context_window_exceeded', recoverable: false },
      usage: { inputTokens: 1234, outputTokens: 56, turns: 1 },
    });
    expect(result.error?.message).toContain('context window');
    expect(ofType(events, 'usage')).toMatchObject([{ turnUsage: { inputTokens: 1234, outputTokens: 56 } }]);
  });

  it('fails a stop reason from a newer API with model_error, naming it, and counts the usage', async () => {
    const { runtime, calls } = await setUp([
      {
        toolCalls: [{ name: 'add', input: { a: 1, b: 2 } }],
        stopReason: 'a_reason_from_the_future',
        usage: { inputTokens: 300, outputTokens: 40 },
      },
    ]);
    const run = runtime.start({ input: 'Add' });
    const events = await collect(run);
    const result = await run.result;
    expect(result).toMatchObject({
      status: 'failed',
      error: {
        errorClass: 'model_error',
        recoverable: false,
        details: { stopReason: 'a_reason_from_the_future' },
      },
      usage: { inputTokens: 300, outputTokens: 40, turns: 1 },
    });
    expect(result.error?.message).toContain("'a_reason_from_the_future'");
    expect(ofType(events, 'usage')).toMatchObject([{ turnUsage: { inputTokens: 300, outputTokens: 40 } }]);
    expect(calls).toHaveLength(0);
  });

  it('continues a pause_turn response without a user turn', async () => {
    const { runtime } = await setUp([
      { text: 'Part one. ', stopReason: 'pause_turn' },
      { text: 'Part two.' },
    ]);
    const run = runtime.start({ input: 'Long task' });
    const result = await run.result;
    expect(result).toMatchObject({
      success: true,
      output: 'Part one. Part two.',
      usage: { turns: 1, outputTokens: 40 },
    });
    const messages = sentMessages(1);
    expect(messages.map((message) => message.role)).toEqual(['user', 'assistant']);
  });

  it("aborts a stalled stream after the runtime's timeouts.idleStreamMs and retries it", async () => {
    const { server, runtime } = await setUp(
      [{ text: 'stalls here', stallAfterEvents: 4 }, { text: 'Unstuck.' }],
      {},
      { timeouts: { idleStreamMs: 150 } },
    );
    const run = runtime.start({ input: 'Hi' });
    const events = await collect(run);
    expect(ofType(events, 'retry')).toMatchObject([{ errorClass: 'stream_stalled' }]);
    expect((await run.result).output).toBe('Unstuck.');
    expect(server.requests).toHaveLength(2);
    await vi.waitFor(() => expect(server.requests[0]?.closedEarly).toBe(true));
  });

  it('streams thinking deltas and sends the thinking block back with its signature', async () => {
    const { server, runtime } = await setUp(
      [
        { thinking: 'Let me think about it.', toolCalls: [{ name: 'add', input: { a: 1, b: 1 } }] },
        { text: '2' },
      ],
      { thinkingBudgetTokens: 1024 },
    );
    const run = runtime.start({ input: '1+1' });
    const events = await collect(run);
    expect(
      ofType(events, 'thinking-delta')
        .map((delta) => delta.thinking)
        .join(''),
    ).toBe('Let me think about it.');
    expect(server.requests[0]?.body.thinking).toEqual({ type: 'enabled', budget_tokens: 1024 });
    const assistant = sentMessages(1)[1];
    expect(assistant?.content[0]).toEqual({
      type: 'thinking',
      thinking: 'Let me think about it.',
      signature: 'sig_fake',
    });
  });
});
