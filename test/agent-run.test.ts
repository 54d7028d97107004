import { createRuntime, emptyUsage, type ModelClient, type ModelFinishPart, memoryStore } from 'agentchart';
import { scriptedModel } from 'agentchart/testing';
import { firstValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { waitFor } from 'xstate';
import { adder, collect, ofType } from './helpers.js';

describe('an agent run', () => {
  it('loops plan -> act -> observe -> plan until the model answers without tools', async () => {
    const add = adder();
    const model = scriptedModel([
      {
        text: 'First, 1 + 2.',
        toolCalls: [{ name: 'add', input: { a: 1, b: 2 } }],
        usage: { inputTokens: 5, outputTokens: 7 },
      },
      {
        text: 'Then 3 + 4.',
        toolCalls: [{ name: 'add', input: { a: 3, b: 4 } }],
        usage: { inputTokens: 9, outputTokens: 3 },
      },
      { text: 'The sums are 3 and 7.', usage: { inputTokens: 12, outputTokens: 6 } },
    ]);
    const runtime = createRuntime({
      store: memoryStore(),
      model,
      tools: [add.tool],
      systemPrompt: 'You add numbers.',
    });
    const run = runtime.start({ input: 'Add some numbers', runId: 'run-1' });
    const events = await collect(run);
    const result = await run.result;

    expect(result).toEqual({
      runId: 'run-1',
      status: 'done',
      success: true,
      output: 'The sums are 3 and 7.',
      usage: {
        inputTokens: 26,
        outputTokens: 16,
        cacheCreationInputTokens: 0,
        cacheReadInputTokens: 0,
        turns: 3,
        costUsd: 0,
      },
    });
    expect(ofType(events, 'phase').map((event) => event.phase)).toEqual([
      'plan',
      'act',
      'observe',
      'plan',
      'act',
      'observe',
      'plan',
      'observe',
      'done',
    ]);
    expect(events[0]).toMatchObject({ type: 'run-start', input: 'Add some numbers', runId: 'run-1' });
    expect(events.at(-1)).toMatchObject({ type: 'run-end', result });
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index));
    expect(events.every((event) => event.runId === 'run-1' && typeof event.at === 'number')).toBe(true);
    expect(ofType(events, 'usage').map((event) => event.totalUsage.inputTokens)).toEqual([5, 14, 26]);
    expect(add.calls).toEqual([
      { a: 1, b: 2 },
      { a: 3, b: 4 },
    ]);

    // The model saw the system prompt, the tools, and each tool result before its next turn.
    expect(model.requests).toHaveLength(3);
    expect(model.requests[0]).toMatchObject({ system: 'You add numbers.', tools: [{ name: 'add' }] });
    expect(model.requests[1]?.messages.at(-1)).toEqual({
      role: 'user',
      content: [{ type: 'tool-result', toolCallId: 'call_0_0', toolName: 'add', output: 3, isError: false }],
    });
    expect(model.requests[2]?.messages).toHaveLength(5);
    await runtime.close();
  });

  it('streams text in several deltas', async () => {
    const text = 'A reasonably long answer that the scripted model splits into pieces.';
    const runtime = createRuntime({ store: memoryStore(), model: scriptedModel([{ text }]) });
    const events = await collect(runtime.start({ input: 'Talk' }));
    const deltas = ofType(events, 'text-delta');
    expect(deltas.length).toBeGreaterThan(2);
    expect(deltas.map((delta) => delta.text).join('')).toBe(text);
  });

  it('gives a subscriber that joins after the end the run-end event', async () => {
    const runtime = createRuntime({ store: memoryStore(), model: scriptedModel([{ text: 'Done.' }]) });
    const run = runtime.start({ input: 'Hi' });
    const result = await run.result;
    const late = await firstValueFrom(run.events$.pipe(toArray()));
    expect(late).toEqual([expect.objectContaining({ type: 'run-end', result })]);
    const iterated = await collect(run);
    expect(iterated.map((event) => event.type)).toEqual(['run-end']);
  });

  it('fails with budget_exceeded when the model wants more than limits.maxTurns turns', async () => {
    const add = adder();
    const loop = scriptedModel(() => ({ toolCalls: [{ name: 'add', input: { a: 1, b: 1 } }] }));
    const runtime = createRuntime({
      store: memoryStore(),
      model: loop,
      tools: [add.tool],
      limits: { maxTurns: 3 },
    });
    const result = await runtime.start({ input: 'Loop forever' }).result;
    expect(result).toMatchObject({
      status: 'failed',
      success: false,
      error: { errorClass: 'budget_exceeded', recoverable: true },
      usage: { turns: 3 },
    });
    expect(result.error?.message).toContain('3 model turns');
    expect(loop.requests).toHaveLength(3);
  });

  it('finishes within maxTurns when the model answers on the last allowed turn', async () => {
    const add = adder();
    const model = scriptedModel([{ toolCalls: [{ name: 'add', input: { a: 1, b: 1 } }] }, { text: '2' }]);
    const runtime = createRuntime({
      store: memoryStore(),
      model,
      tools: [add.tool],
      limits: { maxTurns: 2 },
    });
    expect(await runtime.start({ input: '1+1' }).result).toMatchObject({ status: 'done', output: '2' });
  });

  it('reports a model failure as data in the result and a run-end event', async () => {
    const model = scriptedModel([
      { text: 'Partial', error: { errorClass: 'rate_limited', message: 'Slow down', recoverable: true } },
    ]);
    // A recoverable failure is retried by the runtime; with no retries it ends the run at once.
    const runtime = createRuntime({ store: memoryStore(), model, retry: { maxRetries: 0 } });
    const run = runtime.start({ input: 'Hi' });
    const events = await collect(run);
    const result = await run.result;
    expect(result).toMatchObject({
      status: 'failed',
      success: false,
      output: undefined,
      error: {
        errorClass: 'rate_limited',
        recoverable: true,
        message: 'Slow down',
        details: { code: 'MODEL_ERROR' },
      },
    });
    expect(events.at(-1)).toMatchObject({ type: 'run-end', result: { status: 'failed' } });
  });

  it.each([
    ['content that is not an array', { content: 'Hello' }, 'content'],
    ['a content block of no known type', { content: [{ type: 'image', url: 'x' }] }, 'content'],
    ['usage that is missing', { usage: undefined }, 'usage'],
    ['a stop reason of no known kind', { stopReason: 'done' }, 'stopReason'],
  ])(
    'fails a custom model whose finish part has %s with MODEL_ERROR, saying what was wrong',
    async (_, fields, path) => {
      const model: ModelClient = {
        modelId: 'hand-written',
        async *stream() {
          yield { type: 'text-delta', text: 'Hello' };
          yield {
            type: 'finish',
            stopReason: 'end_turn',
            content: [{ type: 'text', text: 'Hello' }],
            usage: emptyUsage(),
            ...fields,
          } as ModelFinishPart;
        },
      };
      const runtime = createRuntime({ store: memoryStore(), model });
      const result = await runtime.start({ input: 'Hi' }).result;
      expect(result).toMatchObject({
        status: 'failed',
        error: { errorClass: 'model_error', recoverable: false, details: { code: 'MODEL_ERROR' } },
      });
      expect(result.error?.message).toContain("Model 'hand-written'");
      expect(result.error?.message).toContain(path);
    },
  );

  it('emits telemetry events only when asked for', async () => {
    const add = adder();
    const script = [{ toolCalls: [{ name: 'add', input: { a: 1, b: 2 } }] }, { text: '3' }];
    const quiet = createRuntime({ store: memoryStore(), model: scriptedModel(script), tools: [add.tool] });
    const loud = createRuntime({
      store: memoryStore(),
      model: scriptedModel(script),
      tools: [add.tool],
      telemetry: true,
    });
    const quietEvents = await collect(quiet.start({ input: 'Add' }));
    const loudEvents = await collect(loud.start({ input: 'Add' }));
    expect(ofType(quietEvents, 'telemetry')).toHaveLength(0);
    const telemetry = ofType(loudEvents, 'telemetry');
    expect(telemetry.map((event) => event.name).sort()).toEqual(['model-turn', 'model-turn', 'tool-call']);
    expect(telemetry.every((event) => event.durationMs >= 0)).toBe(true);
  });

  it('runs many runs side by side, each with its own events', async () => {
    const runtime = createRuntime({
      store: memoryStore(),
      model: scriptedModel((_, index) => ({ text: `answer ${index}`, tokenDelayMs: 1 })),
    });
    const runs = Array.from({ length: 20 }, (_, index) =>
      runtime.start({ input: `question ${index}`, runId: `r${index}` }),
    );
    const all = await Promise.all(runs.map((run) => collect(run)));
    for (const [index, events] of all.entries()) {
      expect(events.every((event) => event.runId === `r${index}`)).toBe(true);
      expect(events.at(-1)).toMatchObject({ type: 'run-end', result: { status: 'done' } });
    }
    await runtime.close();
  });

  it('is paused and resumed through its actor, requesting the interrupted turn again', async () => {
    const model = scriptedModel([
      { text: 'slow answer, slow answer, slow answer', tokenDelayMs: 5 },
      { text: 'Resumed answer.' },
    ]);
    const runtime = createRuntime({ store: memoryStore(), model });
    const run = runtime.start({ input: 'Hi' });
    const events: string[] = [];
    run.events$.subscribe((event) => {
      events.push(event.type === 'phase' ? `phase:${event.phase}` : event.type);
      if (event.type === 'text-delta' && events.filter((type) => type === 'text-delta').length === 1) {
        run.actor.send({ type: 'PAUSE' });
      }
    });
    await waitFor(run.actor, (snapshot) => snapshot.value === 'paused');
    expect(run.actor.getSnapshot().context.pausedFrom).toBe('plan');
    run.actor.send({ type: 'RESUME' });
    const result = await run.result;
    expect(result).toMatchObject({ status: 'done', output: 'Resumed answer.', usage: { turns: 1 } });
    expect(events).toContain('paused');
    expect(events).toContain('resumed');
    expect(events.filter((type) => type === 'phase:plan')).toHaveLength(2);
  });
});
