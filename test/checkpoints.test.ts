import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  agentRunMachineVersion,
  type CheckpointPolicy,
  type CheckpointStore,
  createRuntime,
  memoryStore,
} from 'agentchart';
import { type Script, type ScriptedTurn, scriptedModel } from 'agentchart/testing';
import { describe, expect, it } from 'vitest';
import { waitFor } from 'xstate';
import { adder, collect, gate, nextEvent, ofType, runModuleScript } from './helpers.js';

const script: ScriptedTurn[] = [
  {
    text: 'First 1 + 2.',
    toolCalls: [{ name: 'add', input: { a: 1, b: 2 } }],
    usage: { inputTokens: 10, outputTokens: 5 },
  },
  {
    text: 'Then 3 + 4.',
    toolCalls: [{ name: 'add', input: { a: 3, b: 4 } }],
    usage: { inputTokens: 20, outputTokens: 5 },
  },
  { text: 'The sums are 3 and 7.', usage: { inputTokens: 30, outputTokens: 5 } },
];

function setUp(options: { store?: CheckpointStore; policy?: CheckpointPolicy; turns?: Script } = {}) {
  const store = options.store ?? memoryStore();
  const add = adder();
  const model = scriptedModel(options.turns ?? script);
  const runtime = createRuntime({
    model,
    tools: [add.tool],
    store,
    ...(options.policy === undefined ? {} : { checkpoint: { policy: options.policy } }),
  });
  return { store, add, model, runtime };
}

const tempDir = () => mkdtempSync(join(tmpdir(), 'agentchart-checkpoints-'));

describe('checkpoints', () => {
  it('checkpoints every step by default, in order, each loadable with its messages', async () => {
    const { runtime } = setUp();
    const run = runtime.start({ input: 'Add', runId: 'every' });
    const events = await collect(run);
    const metas = await runtime.checkpoints.list({ runId: 'every', order: 'asc' });
    // A tool result is a step too, but the journal records it: no checkpoint of its own.
    expect(metas.map((meta) => meta.phase)).toEqual(['plan', 'act', 'plan', 'act', 'plan', 'done']);
    expect(metas.map((meta) => meta.stepNum)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(metas.map((meta) => meta.parentId)).toEqual([null, ...metas.slice(0, -1).map((meta) => meta.id)]);
    expect(metas.at(-1)).toMatchObject({ status: 'done', messageCount: 6 });
    expect(ofType(events, 'checkpoint').map((event) => event.checkpointId)).toEqual(
      metas.map((meta) => meta.id),
    );
    for (const meta of metas) {
      const envelope = await runtime.checkpoints.get(meta.id);
      expect(envelope.context.messages).toHaveLength(meta.messageCount);
      expect(envelope.snapshot.value).toBe(meta.phase);
      expect(envelope.machine).toEqual({ id: 'agentRun', version: agentRunMachineVersion });
    }
    expect(await runtime.runs.get('every')).toMatchObject({
      status: 'done',
      headCheckpointId: 'every@5',
      stepNum: 5,
    });
  });

  it('follows the on-tool-call, on-error, manual and predicate policies', async () => {
    const phasesOf = async (policy: CheckpointPolicy, turns?: ScriptedTurn[]) => {
      const { runtime } = setUp({ policy, ...(turns === undefined ? {} : { turns }) });
      const run = runtime.start({ input: 'Add' });
      await run.result;
      return (await runtime.checkpoints.list({ runId: run.id, order: 'asc' })).map((meta) => meta.phase);
    };
    // Every run's first checkpoint (its start) is written with it, whatever the policy.
    expect(await phasesOf('on-tool-call')).toEqual(['plan', 'act', 'act', 'done']);
    expect(await phasesOf('on-error')).toEqual(['plan']);
    expect(await phasesOf('on-error', [{ error: 'boom' }])).toEqual(['plan', 'failed']);
    expect(await phasesOf('manual')).toEqual(['plan']);
    expect(await phasesOf((context, phase) => phase === 'plan' && context.turn >= 1)).toEqual([
      'plan',
      'plan',
      'plan',
    ]);
  });

  it('records how a run ended even when the policy wrote no checkpoint of the end', async () => {
    const { runtime } = setUp({ policy: 'manual' });
    const run = runtime.start({ input: 'Add', runId: 'quiet' });
    await run.result;
    expect(await runtime.runs.get('quiet')).toMatchObject({ status: 'done', headCheckpointId: 'quiet@0' });
    expect((await runtime.runs.list({ status: 'done' })).map((record) => record.runId)).toEqual(['quiet']);
  });

  it('takes a manual checkpoint with tags and a description, and lists by tag', async () => {
    const { runtime } = setUp({
      policy: 'manual',
      turns: [{ text: 'slow answer '.repeat(10), tokenDelayMs: 3 }],
    });
    const run = runtime.start({ input: 'Talk', runId: 'tagged' });
    await waitFor(run.actor, (snapshot) => snapshot.value === 'plan');
    const meta = await run.checkpoint({ tags: ['before-answer'], description: 'Before the model answered' });
    expect(meta).toMatchObject({
      runId: 'tagged',
      phase: 'plan',
      tags: ['before-answer'],
      description: 'Before the model answered',
    });
    await run.result;
    await expect(run.checkpoint()).rejects.toMatchObject({ code: 'RUN_ENDED' });
    expect((await runtime.checkpoints.list({ tags: ['before-answer'] })).map((found) => found.id)).toEqual([
      meta.id,
    ]);
    expect(await runtime.checkpoints.list({ tags: ['nothing'] })).toEqual([]);
    expect(await runtime.checkpoints.delete(meta.id)).toBe(true);
    expect(await runtime.checkpoints.list({ tags: ['before-answer'] })).toEqual([]);
    await expect(runtime.checkpoints.list({ limit: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(runtime.runs.list({ status: 'sleeping' as never })).rejects.toThrow(/status/);
  });

  it('exports a checkpoint to a file that resumes in another runtime and store', async () => {
    const never = gate();
    const first = setUp({ turns: [...script.slice(0, 2), { text: 'never', gate: never.promise }] });
    const run = first.runtime.start({ input: 'Add', runId: 'travel' });
    // The third plan (turn 3) is checkpointed, and its model turn waits on a gate that never opens.
    await nextEvent(run, (event) => event.type === 'checkpoint' && event.phase === 'plan', 3);
    const [head] = await first.runtime.checkpoints.list({ runId: 'travel', limit: 1 });
    const file = await first.runtime.checkpoints.export(head?.id ?? '', join(tempDir(), 'travel.json'));
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({
      id: head?.id,
      runId: 'travel',
      version: 1,
    });
    await first.runtime.close();

    const second = setUp({ turns: [{ text: 'The sums are 3 and 7.' }] });
    const resumed = await second.runtime.resume(file);
    expect(resumed.id).toBe('travel');
    const result = await resumed.result;
    expect(result).toMatchObject({ status: 'done', output: 'The sums are 3 and 7.', usage: { turns: 3 } });
    expect(second.add.calls).toEqual([]);
    const history = await second.runtime.checkpoints.list({ runId: 'travel', order: 'asc' });
    expect(history[0]?.id).toBe(head?.id);
    expect(history.at(-1)?.status).toBe('done');
  });

  it('resumes an older checkpoint of a finished run as a new run, leaving the history alone', async () => {
    const { runtime, model } = setUp({ turns: [...script, { text: 'A different ending.' }] });
    await runtime.start({ input: 'Add', runId: 'original' }).result;
    const before = await runtime.checkpoints.list({ runId: 'original' });
    const older = before.find((meta) => meta.phase === 'plan' && meta.stepNum === 2);
    const fork = await runtime.resume(older?.id ?? '');
    expect(fork.id).not.toBe('original');
    const result = await fork.result;
    expect(result).toMatchObject({ status: 'done', output: 'A different ending.' });
    expect(model.requests.at(-1)?.messages).toHaveLength(3);
    expect(await runtime.checkpoints.list({ runId: 'original' })).toEqual(before);
    expect(await runtime.runs.get(fork.id)).toMatchObject({ forkOf: older?.id, status: 'done' });
    const [first] = await runtime.checkpoints.list({ runId: fork.id, order: 'asc', limit: 1 });
    expect(first).toMatchObject({ parentId: older?.id, forkOf: older?.id, stepNum: 0 });
  });

  it('resumes from an envelope object, and as a new run when asked', async () => {
    const never = gate();
    const { runtime } = setUp({
      turns: (request) =>
        request.messages.length === 1 ? (script[0] as ScriptedTurn) : { text: 'done', gate: never.promise },
    });
    const run = runtime.start({ input: 'Add', runId: 'obj' });
    await nextEvent(run, (event) => event.type === 'checkpoint' && event.phase === 'plan', 2);
    const [head] = await runtime.checkpoints.list({ runId: 'obj', limit: 1 });
    const envelope = await runtime.checkpoints.get(head?.id ?? '');
    await expect(runtime.resume(envelope)).rejects.toMatchObject({ code: 'RUN_ACTIVE' });
    const copy = await runtime.resume(envelope, { runId: 'obj-copy' });
    expect(copy.id).toBe('obj-copy');
    expect(copy.actor.getSnapshot().context.runId).toBe('obj-copy');
    await runtime.close();
    expect((await copy.result).status).toBe('cancelled');
  });

  it('refuses what cannot be resumed with typed errors', async () => {
    const { runtime } = setUp();
    await runtime.start({ input: 'Add', runId: 'ended' }).result;
    const [last] = await runtime.checkpoints.list({ runId: 'ended', limit: 1 });
    const dir = tempDir();
    const corrupt = join(dir, 'corrupt.json');
    writeFileSync(corrupt, '{"version": 1, "id": "x", "runI');
    const envelope = await runtime.checkpoints.get(last?.id ?? '');
    const codeOf = (promise: Promise<unknown>) =>
      promise.then(
        () => 'resumed',
        (error: { code?: string }) => error.code,
      );
    expect(await codeOf(runtime.resume(last?.id ?? ''))).toBe('RUN_ENDED');
    expect(await codeOf(runtime.resume('ended@99'))).toBe('CHECKPOINT_NOT_FOUND');
    expect(await codeOf(runtime.resume(join(dir, 'missing.json')))).toBe('CHECKPOINT_NOT_FOUND');
    expect(await codeOf(runtime.resume(corrupt))).toBe('CHECKPOINT_CORRUPT');
    expect(await codeOf(runtime.resume({ ...envelope, stepNum: -1 }))).toBe('CHECKPOINT_INVALID');
    expect(await codeOf(runtime.resume({ ...envelope, machine: { id: 'agentRun', version: 0 } }))).toBe(
      'CHECKPOINT_VERSION_MISMATCH',
    );
    expect(await codeOf(runtime.resume(42 as never))).toBe('INVALID_ARGUMENT');
    await expect(runtime.checkpoints.get('nope@0')).rejects.toMatchObject({ code: 'CHECKPOINT_NOT_FOUND' });
  });

  it('migrates an envelope of an older machine version with a registered migration', async () => {
    const never = gate();
    const { runtime, store } = setUp({
      turns: [script[0] as ScriptedTurn, { text: 'slow', gate: never.promise }],
    });
    const run = runtime.start({ input: 'Add', runId: 'old' });
    await nextEvent(run, (event) => event.type === 'checkpoint' && event.phase === 'plan', 2);
    const [head] = await runtime.checkpoints.list({ runId: 'old', limit: 1 });
    const current = await runtime.checkpoints.get(head?.id ?? '');
    await runtime.close();
    // Version 0 called the turn counter `turns`.
    const { turn, ...context } = current.context;
    const legacy = {
      ...current,
      machine: { id: 'agentRun', version: 0 },
      context: { ...context, turns: turn },
    };
    const migrating = createRuntime({
      model: scriptedModel([{ text: 'Migrated and finished.' }]),
      store,
      migrations: {
        0: (envelope) => {
          const { turns, ...rest } = envelope.context as { turns: number };
          return { ...envelope, machine: { id: 'agentRun', version: 1 }, context: { ...rest, turn: turns } };
        },
      },
    });
    const resumed = await migrating.resume(legacy, { runId: 'migrated' });
    expect(await resumed.result).toMatchObject({
      status: 'done',
      output: 'Migrated and finished.',
      usage: { turns: 2 },
    });
  });

  it('resumes a checkpoint of machine version 1 (invoked actors under generated ids) with the built-in migration', async () => {
    const never = gate();
    const { runtime, store } = setUp({
      turns: [script[0] as ScriptedTurn, { text: 'slow', gate: never.promise }],
    });
    const run = runtime.start({ input: 'Add', runId: 'v1' });
    await nextEvent(run, (event) => event.type === 'checkpoint' && event.phase === 'plan', 2);
    const [head] = await runtime.checkpoints.list({ runId: 'v1', limit: 1 });
    const current = await runtime.checkpoints.get(head?.id ?? '');
    await runtime.close();
    expect(Object.keys(current.snapshot.children)).toEqual(['modelTurn']);
    const { modelTurn, ...others } = current.snapshot.children;
    const versionOne = {
      ...current,
      machine: { id: 'agentRun', version: 1 },
      snapshot: { ...current.snapshot, children: { ...others, '0.agentRun.plan': modelTurn } },
    };
    const later = createRuntime({ model: scriptedModel([{ text: 'Finished on version 2.' }]), store });
    const resumed = await later.resume(versionOne, { runId: 'v1-migrated' });
    expect(await resumed.result).toMatchObject({ status: 'done', output: 'Finished on version 2.' });
    await later.close();
  });

  it('uses LevelDB in ./.agentchart when no store is given', async () => {
    const cwd = tempDir();
    // Runs inside the package (so that 'agentchart' resolves), in an empty working directory.
    const program = `
      process.chdir(${JSON.stringify(cwd)});
      const { createRuntime } = await import('agentchart');
      const { scriptedModel } = await import('agentchart/testing');
      const runtime = createRuntime({ model: scriptedModel([{ text: 'stored' }]) });
      const result = await runtime.start({ input: 'hi', runId: 'default-store' }).result;
      console.log(JSON.stringify({ status: result.status, runs: (await runtime.runs.list()).map((run) => run.runId) }));
      await runtime.close();`;
    const { stdout } = await runModuleScript(program);
    expect(JSON.parse(stdout)).toEqual({ status: 'done', runs: ['default-store'] });
    expect(existsSync(join(cwd, '.agentchart', 'CURRENT'))).toBe(true);
  });
});
