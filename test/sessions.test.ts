import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  boundHistory,
  type CheckpointStore,
  ConcurrencyError,
  createRuntime,
  type Message,
  memoryStore,
} from 'agentchart';
import { levelStore } from 'agentchart/level';
import { type Script, scriptedModel } from 'agentchart/testing';
import { describe, expect, it } from 'vitest';
import { gate, sendTool } from './helpers.js';

/** Answers with the number of user questions it has seen, and echoes the last one. */
const counting: Script = (request) => {
  const questions = request.messages.filter(
    (message) => message.role === 'user' && message.content.some((block) => block.type === 'text'),
  );
  const last = questions.at(-1)?.content.find((block) => block.type === 'text');
  return { text: `#${questions.length}: ${last?.type === 'text' ? last.text : ''}`, tokenDelayMs: 2 };
};

const stores: [string, () => Promise<CheckpointStore>][] = [
  ['memoryStore', async () => memoryStore()],
  ['levelStore', () => levelStore({ path: mkdtempSync(join(tmpdir(), 'agentchart-sessions-')) })],
];

describe.each(stores)('sessions on %s', (_, createStore) => {
  it('holds a conversation over many runs, each beginning with the history', async () => {
    const store = await createStore();
    const runtime = createRuntime({ model: scriptedModel(counting), store });
    const session = await runtime.session('chat-1');
    expect([session.version, session.history]).toEqual([0, []]);
    for (const question of ['hello', 'how are you?', 'bye']) {
      const run = await session.run(question);
      const outcome = await run.committed;
      expect(outcome.result.status).toBe('done');
    }
    expect(session.version).toBe(3);
    expect(session.history.map((message) => [message.role, message.content])).toEqual([
      ['user', [{ type: 'text', text: 'hello' }]],
      ['assistant', [{ type: 'text', text: '#1: hello' }]],
      ['user', [{ type: 'text', text: 'how are you?' }]],
      ['assistant', [{ type: 'text', text: '#2: how are you?' }]],
      ['user', [{ type: 'text', text: 'bye' }]],
      ['assistant', [{ type: 'text', text: '#3: bye' }]],
    ]);
    expect(new Set(session.history.map((message) => message.runId)).size).toBe(3);
    expect(session.history.every((message) => typeof message.at === 'string')).toBe(true);
    await runtime.close();
    await store.close();
  });

  it('lets one of two racing runs commit; the other gets ConcurrencyError, and nothing is lost', async () => {
    const store = await createStore();
    const runtime = createRuntime({ model: scriptedModel(counting), store });
    const session = await runtime.session('race');
    const [a, b] = await Promise.all([
      session.run('first', { runId: 'run-a' }),
      session.run('second', { runId: 'run-b' }),
    ]);
    const outcomes = await Promise.allSettled([a.committed, b.committed]);
    const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const lost = outcomes.filter((outcome) => outcome.status === 'rejected');
    expect([won.length, lost.length]).toEqual([1, 1]);
    const error = (lost[0] as PromiseRejectedResult).reason;
    expect(error).toBeInstanceOf(ConcurrencyError);
    expect(error).toMatchObject({ code: 'CONCURRENCY', expectedVersion: 0, actualVersion: 1 });

    const fresh = await runtime.session('race');
    expect(fresh.version).toBe(1);
    expect(fresh.messages).toHaveLength(2);
    const loser =
      (won[0] as PromiseFulfilledResult<{ runId: string }>).value.runId === 'run-a' ? 'run-b' : 'run-a';
    expect(fresh.messages.some((message) => message.runId === loser)).toBe(false);
    // The loser's answer is still in its own checkpoints.
    const head = (await runtime.runs.get(loser))?.headCheckpointId;
    const envelope = await runtime.checkpoints.get(head ?? '');
    expect(envelope.context.messages.at(-1)?.role).toBe('assistant');
    await runtime.close();
    await store.close();
  });

  it("with onConflict: 'retry', runs the loser again on the new history", async () => {
    const store = await createStore();
    // 'two' answers only once 'one' has committed: 'one' wins the race, decided by the test.
    const oneCommitted = gate();
    const model = scriptedModel((request, index) => {
      const turn = counting(request, index);
      return turn.text?.endsWith(': two') && request.messages.length === 1
        ? { ...turn, gate: oneCommitted.promise }
        : turn;
    });
    const runtime = createRuntime({ model, store });
    const session = await runtime.session('retry');
    const runs = await Promise.all([session.run('one'), session.run('two', { onConflict: 'retry' })]);
    await runs[0]?.committed;
    oneCommitted.open();
    const [first, second] = await Promise.all(runs.map((run) => run.committed));
    expect(first?.attempts).toBe(1);
    expect(second?.attempts).toBe(2);
    expect(second?.result.output).toBe('#2: two');
    const fresh = await runtime.session('retry');
    expect([fresh.version, fresh.messages.length]).toEqual([2, 4]);
    await runtime.close();
    await store.close();
  });

  it('leaves the session alone when a run of it is forked', async () => {
    const store = await createStore();
    const runtime = createRuntime({ model: scriptedModel(counting), store });
    const session = await runtime.session('forked');
    const run = await session.run('original', { runId: 'orig' });
    await run.committed;
    const head = (await runtime.runs.get('orig'))?.headCheckpointId ?? '';
    const fork = await runtime.fork(head, { modifications: { input: 'what if' } });
    expect(await fork.result).toMatchObject({ status: 'done' });
    const envelope = await runtime.checkpoints.get((await runtime.runs.get(fork.id))?.headCheckpointId ?? '');
    expect(envelope.context.session).toBeUndefined();
    const fresh = await runtime.session('forked');
    expect([fresh.version, fresh.messages.length]).toEqual([1, 2]);
    await runtime.close();
    await store.close();
  });

  it('commits nothing for a run that fails, and says so', async () => {
    const store = await createStore();
    const runtime = createRuntime({ model: scriptedModel([{ error: 'boom' }]), store });
    const session = await runtime.session('failing');
    const run = await session.run('hi');
    await expect(run.committed).rejects.toMatchObject({ code: 'RUN_ENDED' });
    expect((await runtime.session('failing')).version).toBe(0);
    await runtime.close();
    await store.close();
  });
});

describe('sessions across restarts', () => {
  it('loads the same after a restart, and a waiting run commits once when answered in another process', async () => {
    const path = mkdtempSync(join(tmpdir(), 'agentchart-sessions-'));
    const send = sendTool();
    const model = () =>
      scriptedModel((request) =>
        request.messages.at(-1)?.content.some((block) => block.type === 'text' && block.text === 'send it')
          ? { toolCalls: [{ name: 'send', input: {} }] }
          : counting(request, 0),
      );
    let store = await levelStore({ path });
    let runtime = createRuntime({ model: model(), tools: [send], store });
    let session = await runtime.session('durable', { maxHistory: 10 });
    await (await session.run('hello')).committed;
    const waiting = await session.run('send it', { runId: 'waiting' });
    const request = await new Promise<{ requestId: string }>((resolve) =>
      waiting.events$.subscribe((event) => event.type === 'input-request' && resolve(event.request)),
    );
    await runtime.close();
    await store.close();

    store = await levelStore({ path });
    runtime = createRuntime({ model: model(), tools: [send], store });
    session = await runtime.session('durable', { maxHistory: 10 });
    expect(session.version).toBe(1);
    expect(session.history.map((message) => message.role)).toEqual(['user', 'assistant']);
    const approved = await runtime.approve('waiting', request.requestId);
    expect(await approved.result).toMatchObject({ status: 'done' });
    await session.reload();
    expect(session.version).toBe(2);
    expect(
      session.messages.filter((message) => message.runId === 'waiting').map((message) => message.role),
    ).toEqual(['user', 'assistant', 'user', 'assistant']);
    // Resuming the finished run again commits nothing more.
    await expect(runtime.resume('waiting')).rejects.toMatchObject({ code: 'RUN_ENDED' });
    expect((await runtime.session('durable')).version).toBe(2);
    await runtime.close();
    await store.close();
  });
});

describe('a paused session run', () => {
  it('commits once, when it ends after being resumed in the next process', async () => {
    const path = mkdtempSync(join(tmpdir(), 'agentchart-sessions-'));
    const slow: Script = (request) => ({ ...counting(request, 0), tokenDelayMs: 5 });
    let store = await levelStore({ path });
    let runtime = createRuntime({ model: scriptedModel(slow), store });
    const session = await runtime.session('paused');
    const run = await session.run('take your time', { runId: 'slow' });
    await new Promise<void>((resolve) =>
      run.events$.subscribe((event) => event.type === 'text-delta' && resolve()),
    );
    await runtime.pause('slow');
    await runtime.close();
    await store.close();
    await expect(run.committed).rejects.toMatchObject({
      code: 'RUN_DETACHED',
      details: { status: 'paused' },
    });

    store = await levelStore({ path });
    runtime = createRuntime({ model: scriptedModel(slow), store });
    expect((await runtime.session('paused')).version).toBe(0);
    const resumed = await runtime.resume('slow');
    expect(await resumed.result).toMatchObject({ status: 'done', output: '#1: take your time' });
    const after = await runtime.session('paused');
    expect(after.version).toBe(1);
    expect(after.messages.map((message) => [message.role, message.runId])).toEqual([
      ['user', 'slow'],
      ['assistant', 'slow'],
    ]);
    await runtime.close();
    await store.close();
  });
});

describe('boundHistory', () => {
  const user = (text: string): Message => ({ role: 'user', content: [{ type: 'text', text }] });
  const answer = (text: string): Message => ({ role: 'assistant', content: [{ type: 'text', text }] });
  const call: Message = {
    role: 'assistant',
    content: [{ type: 'tool-call', toolCallId: 't', toolName: 'x', input: {} }],
  };
  const result: Message = {
    role: 'user',
    content: [{ type: 'tool-result', toolCallId: 't', toolName: 'x', output: 1, isError: false }],
  };
  const history = [user('a'), answer('A'), user('b'), call, result, answer('B'), user('c'), answer('C')];

  it('keeps the newest messages, starting with a user message of its own', () => {
    expect(boundHistory(history, { maxHistory: 2 })).toEqual([user('c'), answer('C')]);
    // Cutting at 4 would start with the tool result (an orphan) or between a call and its result.
    expect(boundHistory(history, { maxHistory: 4 })).toEqual([user('c'), answer('C')]);
    expect(boundHistory(history, { maxHistory: 6 })).toEqual(history.slice(2));
    expect(boundHistory(history, { maxHistory: 3 })).toEqual([user('c'), answer('C')]);
    expect(boundHistory(history, {})).toEqual(history);
  });

  it('bounds by estimated tokens too', () => {
    const long = [user('x'.repeat(400)), answer('y'.repeat(400)), user('short'), answer('ok')];
    expect(boundHistory(long, { maxHistoryTokens: 50 })).toEqual([user('short'), answer('ok')]);
    expect(boundHistory(long, { maxHistoryTokens: 1_000 })).toEqual(long);
  });
});
