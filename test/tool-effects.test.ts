/**
 * Once a tool call has returned, no sequence of pause, resume, cancel, unload, close, restart or
 * recover loses its result or runs it again. Tools here wait on gates the test opens, so every
 * race is decided by the test, never by timing.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AgentchartError,
  type CheckpointStore,
  createRuntime,
  defineTool,
  type Message,
  memoryStore,
  type RunHandle,
  type Runtime,
} from 'agentchart';
import { levelStore } from 'agentchart/level';
import { scriptedModel } from 'agentchart/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const steps = 3;

/** Turn k calls `slow` for step k; after the last step the model answers. Same answer for the same conversation. */
const model = () =>
  scriptedModel((request) => {
    const first = request.messages[0]?.content[0];
    const runId = first?.type === 'text' ? first.text : '?';
    const step = request.messages.filter((message) => message.role === 'assistant').length;
    if (step < steps) {
      return {
        text: `Step ${step} of ${runId}.`,
        toolCalls: [{ name: 'slow', input: { step }, id: `${runId}-call-${step}` }],
      };
    }
    return { text: `${runId} finished after ${step} steps.` };
  });

/** A tool whose calls wait until the test opens their gate (or the run aborts them), and a log of what they did. */
function gatedTool() {
  const log: { callId: string; what: 'start' | 'return' | 'abort' }[] = [];
  const gates: { callId: string; open(): void }[] = [];
  const tool = defineTool({
    name: 'slow',
    description: 'Takes as long as the test says',
    input: z.object({ step: z.number() }),
    execute: async ({ step }, { callId, signal }) => {
      log.push({ callId, what: 'start' });
      await new Promise<void>((resolve, reject) => {
        if (signal.aborted) return reject(new Error('aborted'));
        gates.push({ callId, open: resolve });
        signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      }).catch((error: unknown) => {
        log.push({ callId, what: 'abort' });
        throw error;
      });
      log.push({ callId, what: 'return' });
      return `result of step ${step}`;
    },
  });
  const openNext = () => {
    gates.shift()?.open();
  };
  const openAll = () => {
    for (const gate of gates.splice(0)) gate.open();
  };
  return { tool, log, openNext, openAll, pending: () => gates.length };
}

/** Calls that started again after they had returned once: none may. */
function repeatedAfterReturn(log: readonly { callId: string; what: string }[]): string[] {
  const returned = new Set<string>();
  const repeated: string[] = [];
  for (const { callId, what } of log) {
    if (what === 'return') returned.add(callId);
    if (what === 'start' && returned.has(callId)) repeated.push(callId);
  }
  return repeated;
}

/** How long one sequence of the property may take before it fails as hung. */
const propertyTimeoutMs = 20_000;
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
const expectedErrors = new Set([
  'RUN_ENDED',
  'RUN_NOT_FOUND',
  'RUN_ACTIVE',
  'RUNTIME_CLOSED',
  'REQUEST_NOT_FOUND',
]);
/** Runs a control, accepting the typed refusals a control may meet in a random sequence. */
async function tolerant(action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (error) {
    if (!AgentchartError.isInstance(error) || !expectedErrors.has(error.code)) throw error;
  }
}

/** The conversation of a run as its store holds it at its head. */
async function conversation(
  store: CheckpointStore,
  runId: string,
): Promise<{ status: string; messages: Message[] }> {
  const record = await store.getRun(runId);
  const head = record?.headCheckpointId ? await store.getCheckpoint(record.headCheckpointId) : undefined;
  return { status: record?.status ?? 'missing', messages: head?.context.messages ?? [] };
}

type Command =
  | { op: 'pause' | 'resume' | 'cancel' | 'unload'; run: number }
  | { op: 'close' | 'restart' | 'recover' | 'openOne' | 'openAll' | 'settle' };

const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    op: fc.constantFrom('pause', 'resume', 'unload', 'pause', 'resume'),
    run: fc.nat(1),
  }) as fc.Arbitrary<Command>,
  fc.record({ op: fc.constant('cancel'), run: fc.nat(1) }) as fc.Arbitrary<Command>,
  fc.record({ op: fc.constantFrom('close', 'restart', 'recover') }) as fc.Arbitrary<Command>,
  fc.record({
    op: fc.constantFrom('openOne', 'openOne', 'openAll', 'settle', 'settle'),
  }) as fc.Arbitrary<Command>,
);

interface StoreKind {
  name: string;
  /** A fresh store, and how to reopen it (a new process would). */
  create(): Promise<{ store: CheckpointStore; reopen(): Promise<CheckpointStore>; close(): Promise<void> }>;
}

const stores: StoreKind[] = [
  {
    name: 'memory',
    async create() {
      const store = memoryStore();
      return { store, reopen: async () => store, close: async () => {} };
    },
  },
  {
    name: 'LevelDB',
    async create() {
      const path = mkdtempSync(join(tmpdir(), 'agentchart-effects-'));
      let store = await levelStore({ path });
      return {
        store,
        async reopen() {
          await store.close();
          store = await levelStore({ path });
          return store;
        },
        close: () => store.close(),
      };
    },
  },
];

/** The conversation of an uninterrupted run, to compare the others with. */
async function reference(): Promise<Message[]> {
  const gated = gatedTool();
  const store = memoryStore();
  const runtime = createRuntime({ model: model(), tools: [gated.tool], store });
  const run = runtime.start({ input: 'run-0', runId: 'run-0' });
  while ((await store.getRun('run-0'))?.status !== 'done') {
    gated.openAll();
    await settle();
  }
  await run.result;
  await runtime.close();
  return (await conversation(store, 'run-0')).messages;
}

describe('a tool call that returned is never run again, nor lost', () => {
  it('pause while it runs, let it finish while paused, then resume, pause, resume: it ran once', async () => {
    const gated = gatedTool();
    const runtime = createRuntime({ model: model(), tools: [gated.tool], store: memoryStore() });
    const run = runtime.start({ input: 'once', runId: 'once' });
    while (gated.pending() === 0) await settle();
    await run.pause();
    gated.openNext(); // finishes while paused
    while (!gated.log.some((entry) => entry.what === 'return')) await settle();
    await run.resume();
    await run.pause();
    await run.resume();
    while ((await run.actor.getSnapshot()).status === 'active') {
      gated.openAll();
      await settle();
    }
    expect(await run.result).toMatchObject({ status: 'done', output: 'once finished after 3 steps.' });
    expect(
      gated.log.filter((entry) => entry.callId === 'once-call-0' && entry.what === 'start'),
    ).toHaveLength(1);
    expect(repeatedAfterReturn(gated.log)).toEqual([]);
    await runtime.close();
  });

  for (const kind of stores) {
    it(`holds for random sequences of controls on two runs (${kind.name} store)`, {
      timeout: 120_000,
    }, async () => {
      const expected = await reference();
      const sameAsReference = (messages: Message[], runId: string) =>
        JSON.stringify(messages) === JSON.stringify(expected).replaceAll('run-0', runId);
      await fc.assert(
        fc.asyncProperty(
          fc.array(commandArbitrary, { minLength: 1, maxLength: 24 }),
          fc.boolean(),
          fc.constantFrom('sync', 'async') as fc.Arbitrary<'sync' | 'async'>,
          async (commands, unloadParked, durability) => {
            const gated = gatedTool();
            const backing = await kind.create();
            let store = backing.store;
            const config = () => ({
              model: model(),
              tools: [gated.tool],
              store,
              unloadParked,
              checkpoint: { durability },
            });
            let runtime: Runtime | undefined = createRuntime(config());
            const runIds = ['run-a', 'run-b'];
            const handles = new Map<string, RunHandle>();
            for (const runId of runIds) handles.set(runId, runtime.start({ input: runId, runId }));
            const background: Promise<unknown>[] = [];
            const open = async () => {
              if (runtime === undefined) runtime = createRuntime(config());
              return runtime;
            };
            for (const command of commands) {
              const runId = 'run' in command ? (runIds[command.run] as string) : '';
              switch (command.op) {
                case 'pause':
                  await tolerant(async () => (await open()).pause(runId));
                  break;
                case 'resume':
                  await tolerant(async () => handles.set(runId, await (await open()).resume(runId)));
                  break;
                case 'cancel':
                  await tolerant(async () => (await open()).cancel(runId, 'changed my mind'));
                  break;
                case 'unload':
                  // Waits for a call in flight to return: it goes on in the background.
                  background.push(tolerant(async () => handles.get(runId)?.unload()));
                  break;
                case 'close':
                  await runtime?.close();
                  runtime = undefined;
                  break;
                case 'restart':
                  await runtime?.close();
                  store = await backing.reopen();
                  runtime = createRuntime(config());
                  break;
                case 'recover':
                  for (const handle of await (await open()).recover()) handles.set(handle.id, handle);
                  break;
                case 'openOne':
                  gated.openNext();
                  break;
                case 'openAll':
                  gated.openAll();
                  break;
                case 'settle':
                  await settle();
                  break;
              }
            }
            // Drive every run to its end: open the gates, resume what is paused.
            const live = await open();
            for (const handle of await live.recover()) handles.set(handle.id, handle);
            // A sequence that hangs is given up once the property's timeout would fail it: rounds are
            // no measure of that, a loaded machine's disk takes thousands of them for a write.
            const giveUpAt = Date.now() + propertyTimeoutMs;
            for (;;) {
              gated.openAll();
              const statuses = await Promise.all(
                runIds.map(async (runId) => (await live.status(runId)).status),
              );
              if (statuses.every((status) => ['done', 'failed', 'cancelled'].includes(status))) break;
              for (const [index, status] of statuses.entries())
                if (status === 'paused') await tolerant(() => live.resume(runIds[index] as string));
              if (Date.now() > giveUpAt || gated.log.length > 400)
                throw new Error(`runs did not end (${gated.log.length} tool events): ${statuses.join(', ')}`);
              await settle();
            }
            await Promise.all(background);
            await live.close();
            expect(repeatedAfterReturn(gated.log), JSON.stringify(gated.log)).toEqual([]);
            for (const runId of runIds) {
              const { status, messages } = await conversation(store, runId);
              expect(['done', 'cancelled']).toContain(status);
              if (status === 'done')
                expect(sameAsReference(messages, runId), JSON.stringify(messages)).toBe(true);
            }
            await backing.close();
          },
        ),
        {
          numRuns: Number(process.env.FC_RUNS ?? (kind.name === 'memory' ? 60 : 30)),
          // A sequence that hangs fails (with its counterexample) instead of holding the suite.
          timeout: propertyTimeoutMs,
          // A failure prints its seed and path: SEED=… FC_PATH=… replays it.
          ...(process.env.SEED === undefined
            ? {}
            : { seed: Number(process.env.SEED), path: process.env.FC_PATH ?? '' }),
        },
      );
    });
  }
});
