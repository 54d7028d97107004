import { createRuntime, defineTool, memoryStore } from 'agentchart';
import { createKeyValueStore, type KeyValue, type KeyValueWrite, memoryKeyValue } from 'agentchart/store';
import { type Script, scriptedModel } from 'agentchart/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { adder } from './helpers.js';

/** Answers with what it was asked and the system prompt it was given; adds first when asked to. */
const echo: Script = (request) => {
  const lastUser = request.messages.findLast(
    (message) => message.role === 'user' && message.content.some((block) => block.type === 'text'),
  );
  const asked = lastUser?.content.find((block) => block.type === 'text');
  const text = asked?.type === 'text' ? asked.text : '';
  if (text.startsWith('add') && request.messages.at(-1)?.content[0]?.type === 'text') {
    return {
      toolCalls: [{ name: 'add', input: { a: 2, b: 3 } }],
      usage: { inputTokens: 10, outputTokens: 5 },
    };
  }
  return {
    text: `[${request.system ?? 'no prompt'}] ${text.slice(0, 40)}`,
    usage: { inputTokens: 20, outputTokens: 10 },
  };
};

function setUp(store = memoryStore()) {
  const add = adder();
  const note = defineTool({
    name: 'note',
    description: 'Notes',
    input: z.object({}),
    execute: () => 'noted',
  });
  const model = scriptedModel(echo);
  const runtime = createRuntime({ model, tools: [add.tool, note], store, systemPrompt: 'be brief' });
  return { runtime, model, add, store };
}

describe('forks', () => {
  it('forks a checkpoint with a new system prompt and input, leaving the original untouched', async () => {
    const { runtime, model } = setUp();
    const original = runtime.start({ input: 'hello', runId: 'original' });
    expect((await original.result).output).toBe('[be brief] hello');
    const before = await runtime.checkpoints.list({ runId: 'original' });
    const [start] = await runtime.checkpoints.list({ runId: 'original', order: 'asc', limit: 1 });

    const fork = await runtime.fork(start?.id ?? '', {
      modifications: { systemPrompt: 'be loud', input: 'HELLO' },
      description: 'louder',
      tags: ['experiment'],
    });
    expect(fork.id).not.toBe('original');
    expect(await fork.result).toMatchObject({ status: 'done', output: '[be loud] HELLO' });
    expect(model.requests.at(-1)).toMatchObject({ system: 'be loud' });
    expect(await runtime.checkpoints.list({ runId: 'original' })).toEqual(before);
    const [first] = await runtime.checkpoints.list({ runId: fork.id, order: 'asc', limit: 1 });
    expect(first).toMatchObject({
      forkOf: start?.id,
      parentId: start?.id,
      description: 'louder',
      tags: ['experiment'],
    });
  });

  it('forks with edited messages, other limits, a subset of the tools and another model', async () => {
    const { runtime, model } = setUp();
    await runtime.start({ input: 'hi', runId: 'base' }).result;
    const [point] = await runtime.checkpoints.list({ runId: 'base', order: 'asc', limit: 1 });
    const other = scriptedModel(() => ({ text: 'from the other model' }), { modelId: 'other-model' });
    const fork = await runtime.fork(point?.id ?? '', {
      modifications: {
        messages: (messages) => [
          ...messages.slice(0, -1),
          { role: 'user', content: [{ type: 'text', text: 'edited' }] },
        ],
        tools: ['note'],
        limits: { maxTurns: 3 },
        model: other,
      },
    });
    expect(await fork.result).toMatchObject({ status: 'done', output: 'from the other model' });
    expect(other.requests[0]?.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'edited' }] },
    ]);
    expect(other.requests[0]?.tools.map((tool) => tool.name)).toEqual(['note']);
    expect(model.requests).toHaveLength(1);
    expect(
      (await runtime.checkpoints.get((await runtime.runs.get(fork.id))?.headCheckpointId ?? '')).context,
    ).toMatchObject({
      limits: { maxTurns: 3 },
      settings: { modelId: 'other-model', toolNames: ['note'] },
    });
    await expect(
      runtime.fork(point?.id ?? '', { modifications: { tools: ['teleport'] } }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('runs several branches at once with forkMany', async () => {
    const { runtime } = setUp();
    await runtime.start({ input: 'hi', runId: 'trunk' }).result;
    const [point] = await runtime.checkpoints.list({ runId: 'trunk', order: 'asc', limit: 1 });
    const branches = await runtime.forkMany(point?.id ?? '', [
      { systemPrompt: 'A' },
      { systemPrompt: 'B' },
      { systemPrompt: 'C' },
    ]);
    const outputs = await Promise.all(branches.map(async (branch) => (await branch.result).output));
    expect(outputs).toEqual(['[A] hi', '[B] hi', '[C] hi']);
    expect(new Set(branches.map((branch) => branch.id)).size).toBe(3);
    expect((await runtime.history('trunk')).children.map((child) => child.runId).sort()).toEqual(
      branches.map((b) => b.id).sort(),
    );
  });

  it('forks a checkpoint of a run that crashed, and compares two forks', async () => {
    const store = memoryStore();
    const first = setUp(store);
    const crashed = first.runtime.start({ input: 'add please', runId: 'crashed' });
    // The process goes down as soon as the turn's tool calls are due, before they run.
    const watch = crashed.actor.subscribe((snapshot) => {
      if (snapshot.value !== 'act') return;
      watch.unsubscribe();
      first.runtime.supervisor.send({ type: 'RUN.STOP', runId: 'crashed', reason: 'crash' });
    });
    expect(await crashed.result).toMatchObject({ status: 'cancelled', error: { recoverable: true } });
    await first.runtime.close();

    const { runtime } = setUp(store);
    const [head] = await runtime.checkpoints.list({ runId: 'crashed', limit: 1 });
    expect(head?.phase).toBe('act');
    const [calm, loud] = await Promise.all([
      runtime.fork(head?.id ?? '', { runId: 'calm' }),
      runtime.fork(head?.id ?? '', { runId: 'loud', modifications: { systemPrompt: 'shout' } }),
    ]);
    const results = await Promise.all([calm?.result, loud?.result]);
    expect(results.map((result) => result?.output)).toEqual(['[be brief] add please', '[shout] add please']);

    const comparison = await runtime.compare('calm', 'loud');
    expect(comparison.commonAncestor).toBe(head?.id);
    // Same conversation up to the answers, which differ with the system prompt.
    expect(comparison.divergence).toEqual({ messageIndex: 3, turn: 2 });
    expect(comparison.outputDiff).toEqual([
      { op: 'removed', line: '[be brief] add please' },
      { op: 'added', line: '[shout] add please' },
    ]);
    expect(comparison.usageDelta).toMatchObject({ inputTokens: 0, outputTokens: 0, turns: 0 });

    const edited = await runtime.fork(head?.id ?? '', {
      runId: 'edited',
      modifications: { input: 'no tools' },
    });
    await edited.result;
    const versus = await runtime.compare('calm', 'edited');
    expect(versus.divergence).toEqual({ messageIndex: 0, turn: 1 });
    expect(versus.a.toolCallsOnlyHere).toEqual([{ toolName: 'add', input: { a: 2, b: 3 } }]);
    expect(versus.b.toolCallsOnlyHere).toEqual([]);
    expect(versus.usageDelta.turns).toBe(-1);
  });

  it('lists a run history with its fork tree, and gives frozen views of its points', async () => {
    const { runtime } = setUp();
    await runtime.start({ input: 'add please', runId: 'h' }).result;
    const history = await runtime.history('h');
    expect(history.parent).toBeNull();
    expect(
      history.checkpoints.map((meta) => [meta.stepNum, meta.phase, meta.messageCount, meta.turn]),
    ).toEqual([
      [0, 'plan', 1, 0],
      [1, 'act', 2, 1],
      [2, 'plan', 3, 1],
      [3, 'done', 4, 2],
    ]);
    expect(history.checkpoints[1]?.summary).toBe('assistant: -> add({"a":2,"b":3})');
    expect(history.checkpoints[3]).toMatchObject({
      usage: { inputTokens: 30, outputTokens: 15 },
      summary: 'assistant: [be brief] add please',
    });

    const fork = await runtime.fork(history.checkpoints[2]?.id ?? '', { runId: 'h-fork' });
    await fork.result;
    expect((await runtime.history('h-fork')).parent).toEqual({ runId: 'h', checkpointId: 'h@2' });
    const point = await runtime.at('h@1');
    expect(point).toMatchObject({ runId: 'h', stepNum: 1, phase: 'act', turn: 1 });
    expect(point.messages).toHaveLength(2);
    expect(() => (point.messages as unknown[]).push('x')).toThrow(TypeError);
    await expect(runtime.history('nobody')).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' });
  });

  it('replays a run from its record, calling neither the model nor any tool', async () => {
    const { runtime, model, add } = setUp();
    await runtime.start({ input: 'add please', runId: 'r' }).result;
    const [requests, executions] = [model.requests.length, add.calls.length];
    const report = await runtime.replay('r');
    expect(report).toMatchObject({
      runId: 'r',
      turns: 2,
      states: ['plan', 'act', 'plan', 'done'],
      recordedStates: ['plan', 'act', 'plan', 'done'],
      sameStates: true,
      output: '[be brief] add please',
      sameOutput: true,
    });
    expect([model.requests.length, add.calls.length]).toEqual([requests, executions]);
    const partial = await runtime.replay('r', { untilStep: 1 });
    expect(partial).toMatchObject({ turns: 1, recordedStates: ['plan', 'act'], sameStates: true });
    expect(partial.states.at(-1)).toBe('act');
    await expect(runtime.replay('nobody')).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' });
  });

  it('shares the stored history: a fork writes what is new, not the past again', async () => {
    let bytes = 0;
    const inner = memoryKeyValue();
    const count = (writes: readonly KeyValueWrite[]) => {
      for (const write of writes) bytes += write.type === 'put' ? write.value.length : 0;
    };
    const counting: KeyValue = {
      ...inner,
      batch: (writes) => {
        count(writes);
        return inner.batch(writes);
      },
      batchIf: async (expected, writes) => {
        const applied = await inner.batchIf(expected, writes);
        if (applied) count(writes);
        return applied;
      },
    };
    const { runtime } = setUp(createKeyValueStore(counting));
    const long = 'a long question '.repeat(2_000);
    await runtime.start({ input: long, runId: 'big' }).result;
    const historyBytes = bytes;
    const [start] = await runtime.checkpoints.list({ runId: 'big', order: 'asc', limit: 1 });
    bytes = 0;
    await (await runtime.fork(start?.id ?? '', { modifications: { systemPrompt: 'other' } })).result;
    expect(historyBytes).toBeGreaterThan(30_000);
    expect(bytes).toBeLessThan(historyBytes / 5);
  });
});
