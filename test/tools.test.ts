import { setTimeout as sleep } from 'node:timers/promises';
import { createRuntime, defineTool, memoryStore, type ToolExecutionContext } from 'agentchart';
import { scriptedModel } from 'agentchart/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { adder, collect, ofType } from './helpers.js';

describe('tools', () => {
  it('sends the JSON schema made from the zod input to the model', () => {
    const tool = defineTool({
      name: 'search',
      description: 'Searches',
      input: z.object({ query: z.string().describe('What to look for'), limit: z.number().int().optional() }),
      execute: () => [],
    });
    expect(tool.spec).toEqual({
      name: 'search',
      description: 'Searches',
      inputSchema: {
        type: 'object',
        properties: {
          query: { type: 'string', description: 'What to look for' },
          limit: { type: 'integer', minimum: expect.any(Number), maximum: expect.any(Number) },
        },
        required: ['query'],
      },
    });
  });

  it('refuses a bad tool name, a non-object schema and a bad timeout with INVALID_ARGUMENT', () => {
    const base = { description: 'x', execute: () => 1 };
    const attempts = [
      () => defineTool({ ...base, name: 'has spaces', input: z.object({}) }),
      () => defineTool({ ...base, name: 'scalar', input: z.string() }),
      () => defineTool({ ...base, name: 'slow', input: z.object({}), timeoutMs: -1 }),
    ];
    for (const attempt of attempts) {
      expect(attempt).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    const add = adder();
    expect(() =>
      createRuntime({ store: memoryStore(), model: scriptedModel([]), tools: [add.tool, add.tool] }),
    ).toThrowError(/Two tools are named 'add'/);
  });

  it('reports an unknown tool, invalid arguments, a throw and a timeout to the model, and goes on', async () => {
    let timedOutSignal: AbortSignal | undefined;
    const add = adder();
    const broken = defineTool({
      name: 'broken',
      description: 'Always fails',
      input: z.object({}),
      execute: () => {
        throw new Error('disk on fire');
      },
    });
    const slow = defineTool({
      name: 'slow',
      description: 'Never finishes in time',
      input: z.object({}),
      timeoutMs: 20,
      execute: async (_, { signal }) => {
        timedOutSignal = signal;
        await sleep(10_000, undefined, { signal });
      },
    });
    const model = scriptedModel([
      {
        toolCalls: [
          { name: 'teleport', input: {} },
          { name: 'add', input: { a: 'one', b: 2 } },
          { name: 'broken', input: {} },
          { name: 'slow', input: {} },
          { name: 'add', input: { a: 1, b: 2 } },
        ],
      },
      { text: 'Only the sum worked: 3.' },
    ]);
    const runtime = createRuntime({ store: memoryStore(), model, tools: [add.tool, broken, slow] });
    const run = runtime.start({ input: 'Try everything' });
    const events = await collect(run);
    const result = await run.result;

    expect(result).toMatchObject({ status: 'done', output: 'Only the sum worked: 3.' });
    const errors = ofType(events, 'tool-error');
    expect(Object.fromEntries(errors.map((error) => [error.toolCallId, error.code]))).toEqual({
      call_0_0: 'TOOL_NOT_FOUND',
      call_0_1: 'TOOL_INPUT_INVALID',
      call_0_2: 'TOOL_FAILED',
      call_0_3: 'TOOL_TIMEOUT',
    });
    expect(ofType(events, 'tool-result')).toMatchObject([{ toolCallId: 'call_0_4', output: 3 }]);
    expect(add.calls).toEqual([{ a: 1, b: 2 }]);
    expect(timedOutSignal?.aborted).toBe(true);

    const answer = model.requests[1]?.messages.at(-1);
    expect(answer?.role).toBe('user');
    const results = answer?.content as { toolCallId: string; output: string; isError: boolean }[];
    expect(results.map((block) => block.toolCallId)).toEqual([
      'call_0_0',
      'call_0_1',
      'call_0_2',
      'call_0_3',
      'call_0_4',
    ]);
    expect(results.map((block) => block.isError)).toEqual([true, true, true, true, false]);
    expect(results[0]?.output).toBe("Unknown tool 'teleport'. Available tools: add, broken, slow.");
    expect(results[1]?.output).toMatch(/^Invalid input for tool 'add':\n.*expected number.*\n.*→ at a/s);
    expect(results[2]?.output).toBe("Tool 'broken' failed: disk on fire");
    expect(results[3]?.output).toBe("Tool 'slow' timed out after 20 ms");
  });

  it('turns tool outputs into plain JSON, and fails a call whose output JSON cannot hold', async () => {
    const when = new Date('2026-01-02T03:04:05.000Z');
    const outputs: Record<string, unknown> = {
      date: { when },
      nothing: undefined,
      big: { n: 10n },
      text: 'plain',
    };
    const give = defineTool({
      name: 'give',
      description: 'Returns a value',
      input: z.object({ what: z.string() }),
      execute: ({ what }) => outputs[what],
    });
    const calls = Object.keys(outputs).map((what) => ({ name: 'give', input: { what } }));
    const model = scriptedModel([{ toolCalls: calls }, { text: 'ok' }]);
    const runtime = createRuntime({ store: memoryStore(), model, tools: [give] });
    const run = runtime.start({ input: 'Give' });
    const events = await collect(run);
    expect((await run.result).status).toBe('done');
    const sent = model.requests[1]?.messages.at(-1)?.content as { output: unknown; isError: boolean }[];
    expect(sent.map((block) => block.output)).toEqual([
      { when: '2026-01-02T03:04:05.000Z' },
      null,
      expect.stringMatching(/^Tool 'give' returned a value that is not JSON: .*BigInt/),
      'plain',
    ]);
    expect(ofType(events, 'tool-error')).toMatchObject([{ code: 'TOOL_FAILED', toolCallId: 'call_0_2' }]);
  });

  it('runs the tool calls of one turn concurrently, up to maxConcurrentToolCalls', async () => {
    const measure = async (limit: number) => {
      let running = 0;
      let most = 0;
      const wait = defineTool({
        name: 'wait',
        description: 'Waits a little',
        input: z.object({ n: z.number() }),
        execute: async ({ n }) => {
          running++;
          most = Math.max(most, running);
          await sleep(15);
          running--;
          return n;
        },
      });
      const calls = Array.from({ length: 6 }, (_, n) => ({ name: 'wait', input: { n } }));
      const model = scriptedModel([{ toolCalls: calls }, { text: 'done' }]);
      const runtime = createRuntime({
        store: memoryStore(),
        model,
        tools: [wait],
        limits: { maxConcurrentToolCalls: limit },
      });
      const events = await collect(runtime.start({ input: 'Wait' }));
      expect(ofType(events, 'tool-result')).toHaveLength(6);
      return most;
    };
    expect(await measure(2)).toBe(2);
    expect(await measure(6)).toBe(6);
    expect(await measure(1)).toBe(1);
  });

  it('gives tools their call id and run id, and aborts them when the run is cancelled', async () => {
    const seen: Pick<ToolExecutionContext, 'callId' | 'runId'>[] = [];
    let signal: AbortSignal | undefined;
    const block = defineTool({
      name: 'block',
      description: 'Blocks until aborted',
      input: z.object({}),
      execute: async (_, context) => {
        seen.push({ callId: context.callId, runId: context.runId });
        signal = context.signal;
        await sleep(10_000, undefined, { signal: context.signal });
      },
    });
    const model = scriptedModel([{ toolCalls: [{ name: 'block', input: {}, id: 'toolu_x' }] }]);
    const controller = new AbortController();
    const runtime = createRuntime({ store: memoryStore(), model, tools: [block] });
    const run = runtime.start({ input: 'Block', runId: 'blocked', signal: controller.signal });
    run.events$.subscribe((event) => {
      if (event.type === 'phase' && event.phase === 'act')
        setTimeout(() => controller.abort(new Error('operator said stop')), 10);
    });
    const result = await run.result;
    expect(result).toMatchObject({
      status: 'cancelled',
      success: false,
      error: { errorClass: 'cancelled', details: { reason: 'operator said stop' } },
    });
    expect(seen).toEqual([{ callId: 'toolu_x', runId: 'blocked' }]);
    expect(signal?.aborted).toBe(true);
  });

  it('keeps the first cancel reason', async () => {
    const runtime = createRuntime({
      store: memoryStore(),
      model: scriptedModel([{ text: 'slow', tokenDelayMs: 50 }]),
    });
    const run = runtime.start({ input: 'Hi' });
    await sleep(5);
    run.actor.send({ type: 'CANCEL', reason: 'first' });
    run.actor.send({ type: 'CANCEL', reason: 'second' });
    expect((await run.result).error?.details).toEqual({ reason: 'first' });
  });

  it('cancels at once a run started with an already aborted signal', async () => {
    const model = scriptedModel([{ text: 'never streamed', tokenDelayMs: 5 }]);
    const runtime = createRuntime({ store: memoryStore(), model });
    const run = runtime.start({ input: 'Hi', signal: AbortSignal.abort('too late') });
    const events = await collect(run);
    expect(await run.result).toMatchObject({
      status: 'cancelled',
      error: { details: { reason: 'too late' } },
    });
    expect(ofType(events, 'text-delta')).toHaveLength(0);
  });
});
