import { AgentchartError } from '../agentchart-error.js';
import { agentRunMachineVersion, initialContext } from '../machines/agent-run-machine.js';
import type { Message } from '../model/message.js';
import type { CheckpointEnvelope, CheckpointStatus } from '../persistence/checkpoint-envelope.js';
import type { CheckpointStore } from '../persistence/checkpoint-store.js';
import { defaultLimits } from '../runtime/runtime-config.js';

/** The parts of a test framework the contract suite uses (vitest, jest and node:test fit). */
export interface ContractTestApi {
  describe(name: string, body: () => void): void;
  it(name: string, body: () => Promise<void>): void;
  beforeEach(body: () => Promise<void>): void;
  afterEach(body: () => Promise<void>): void;
  /** Needed only by a backend with `setup` or `teardown`. */
  beforeAll?(body: () => Promise<void>): void;
  afterAll?(body: () => Promise<void>): void;
}

/** The backend under test: how to make its stores, and what it needs around the tests. */
export interface ContractBackend {
  /** A fresh, empty store on a backend of its own (a new folder, a new schema). */
  create(): Promise<CheckpointStore>;
  /**
   * Another store object on the backend of `store` (a second `levelStore` on its folder, a second
   * connection pool on its schema): the concurrency tests race the two. Closed by the suite.
   */
  another(store: CheckpointStore): Promise<CheckpointStore>;
  /** Run once before the tests (start a server, check it answers). */
  setup?(): Promise<void>;
  /** Run once after the tests (stop a server, drop what the tests made). */
  teardown?(): Promise<void>;
}

/** A text message, for tests. */
export function testMessage(text: string, role: Message['role'] = 'user'): Message {
  return { role, content: [{ type: 'text', text }] };
}

/** A valid checkpoint envelope of run `runId` at `stepNum`, for tests of stores. */
export function testEnvelope(
  runId: string,
  stepNum: number,
  messages: Message[],
  overrides: { tags?: string[]; status?: CheckpointStatus; savedAt?: string; parentId?: string | null } = {},
): CheckpointEnvelope {
  return {
    version: 1,
    id: `${runId}@${stepNum}`,
    runId,
    parentId: overrides.parentId ?? (stepNum > 0 ? `${runId}@${stepNum - 1}` : null),
    forkOf: null,
    stepNum,
    phase: 'plan',
    nextPhase: null,
    savedAt: overrides.savedAt ?? new Date(Date.UTC(2026, 0, 1, 0, 0, stepNum)).toISOString(),
    status: overrides.status ?? 'active',
    tags: overrides.tags ?? [],
    description: null,
    machine: { id: 'agentRun', version: agentRunMachineVersion },
    context: { ...initialContext({ runId, messages, limits: defaultLimits }), turn: stepNum },
    snapshot: { status: 'active', value: 'plan', historyValue: {}, children: {} },
  };
}

class ContractFailure extends Error {}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new ContractFailure(message);
}

/** JSON with object keys sorted, so that equal values read the same whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_, field: unknown) =>
    field !== null && typeof field === 'object' && !Array.isArray(field)
      ? Object.fromEntries(Object.entries(field).sort(([a], [b]) => (a < b ? -1 : 1)))
      : field,
  );
}

function same(actual: unknown, expected: unknown, what: string): void {
  const [a, b] = [canonical(actual), canonical(expected)];
  check(a === b, `${what}: expected ${b}, got ${a}`);
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    if (AgentchartError.isInstance(error)) return error.code;
    throw error;
  }
}

/**
 * The contract every {@link CheckpointStore} passes: give it your test framework and the backend
 * (a factory of fresh stores, and of a second store object on the same backend). The memory,
 * LevelDB and Postgres stores run it; so must any other backend. Every concurrency test races two
 * store objects on one backend: compare-and-set must be decided by the backend, not by a store
 * object. A bare factory (no second object) races one object against itself.
 *
 * @example
 * ```ts
 * import { afterEach, beforeEach, describe, it } from 'vitest';
 * import { checkpointStoreContract } from 'agentchart/testing';
 * import { levelStore } from 'agentchart/level';
 * checkpointStoreContract('levelStore', { describe, it, beforeEach, afterEach }, {
 *   create: () => levelStore({ path: freshFolder() }),
 *   another: (store) => levelStore({ path: folderOf(store) }),
 * });
 * ```
 */
export function checkpointStoreContract(
  name: string,
  api: ContractTestApi,
  backend: ContractBackend | (() => Promise<CheckpointStore>),
): void {
  const { describe, it, beforeEach, afterEach } = api;
  const { create, another, setup, teardown } =
    typeof backend === 'function'
      ? {
          create: backend,
          another: async (store: CheckpointStore) => store,
          setup: undefined,
          teardown: undefined,
        }
      : backend;
  describe(`${name} passes the checkpoint store contract`, () => {
    let store: CheckpointStore;
    // A second store object on the same backend, for the concurrency tests.
    let other: CheckpointStore;
    if (setup !== undefined) api.beforeAll?.(setup);
    if (teardown !== undefined) api.afterAll?.(teardown);
    beforeEach(async () => {
      store = await create();
      other = await another(store);
    });
    afterEach(async () => {
      if (other !== store) await other.close();
      await store.close();
    });

    it('creates a run once, and refuses a second run with its id', async () => {
      const record = await store.createRun({ runId: 'r1', forkOf: null, messages: [testMessage('hi')] });
      same(
        [record.version, record.status, record.messageCount, record.headCheckpointId],
        [1, 'active', 1, null],
        'new run',
      );
      same(await store.getRun('r1'), record, 'getRun');
      same(
        await codeOf(store.createRun({ runId: 'r1', forkOf: null, messages: [] })),
        'DUPLICATE_RUN_ID',
        'second createRun',
      );
      same(await store.getRun('nope'), undefined, 'unknown run');
    });

    it('creates a run together with its first checkpoint', async () => {
      const messages = [testMessage('hi')];
      const record = await store.createRun({
        runId: 'r1',
        forkOf: null,
        messages,
        firstCheckpoint: testEnvelope('r1', 0, messages),
      });
      same(
        [record.version, record.headCheckpointId, record.stepNum, record.messageCount],
        [1, 'r1@0', 0, 1],
        'new run',
      );
      same(await store.getRun('r1'), record, 'stored run');
      same((await store.getCheckpoint('r1@0'))?.context.messages, messages, 'first checkpoint');
      same(
        (await store.listRuns({ status: 'active' })).map((run) => run.runId),
        ['r1'],
        'status index',
      );
      const wrong = store.createRun({
        runId: 'r2',
        forkOf: null,
        messages,
        firstCheckpoint: testEnvelope('r1', 0, messages),
      });
      same(await codeOf(wrong), 'CHECKPOINT_INVALID', 'first checkpoint of another run');
      same(await store.getRun('r2'), undefined, 'nothing written for the refused run');
    });

    it('round-trips a checkpoint with its messages, and moves the run head', async () => {
      const messages = [testMessage('hi'), testMessage('hello', 'assistant')];
      await store.createRun({ runId: 'r1', forkOf: null, messages: messages.slice(0, 1) });
      const envelope = testEnvelope('r1', 0, messages, { tags: ['first'] });
      const record = await store.appendCheckpoint(envelope, 1);
      same(
        [record.version, record.headCheckpointId, record.stepNum, record.messageCount],
        [2, 'r1@0', 0, 2],
        'head',
      );
      same(await store.getCheckpoint('r1@0'), envelope, 'getCheckpoint');
      same(await store.getCheckpoint('r1@9'), undefined, 'unknown checkpoint');
    });

    it('refuses a stale version with CONCURRENCY and writes nothing', async () => {
      await store.createRun({ runId: 'r1', forkOf: null, messages: [] });
      await store.appendCheckpoint(testEnvelope('r1', 0, []), 1);
      same(await codeOf(store.appendCheckpoint(testEnvelope('r1', 1, []), 1)), 'CONCURRENCY', 'stale append');
      same(await store.getCheckpoint('r1@1'), undefined, 'refused checkpoint');
      same(await codeOf(store.setRunStatus('r1', 'paused', 1)), 'CONCURRENCY', 'stale status');
      same(
        await codeOf(store.appendCheckpoint(testEnvelope('r9', 0, []), 1)),
        'RUN_NOT_FOUND',
        'unknown run',
      );
      same(
        await codeOf(store.appendCheckpoint(testEnvelope('r1', 0, []), 2)),
        'CHECKPOINT_INVALID',
        'step not after head',
      );
    });

    it('loses no update when 20 writers on two store objects race with compare-and-set', async () => {
      await store.createRun({ runId: 'r1', forkOf: null, messages: [] });
      let step = 0;
      const writer = async (rounds: number, on: CheckpointStore) => {
        for (let done = 0; done < rounds; ) {
          const record = await on.getRun('r1');
          if (record === undefined) throw new ContractFailure('run vanished');
          const next = record.stepNum + 1;
          try {
            await on.appendCheckpoint(testEnvelope('r1', next, []), record.version);
            done++;
            step++;
          } catch (error) {
            if (!AgentchartError.isInstance(error) || error.code !== 'CONCURRENCY') throw error;
          }
        }
      };
      await Promise.all(Array.from({ length: 20 }, (_, index) => writer(5, index % 2 === 0 ? store : other)));
      const record = await store.getRun('r1');
      same([record?.stepNum, record?.version], [step - 1, step + 1], 'head after the race');
      same((await store.listCheckpoints({ runId: 'r1' })).length, 100, 'checkpoints after the race');
    });

    it('lists checkpoints newest first by step, filters by tags, and honours limit and order', async () => {
      await store.createRun({ runId: 'a', forkOf: null, messages: [] });
      await store.createRun({ runId: 'b', forkOf: null, messages: [] });
      for (let step = 0; step < 12; step++) {
        const tags = step % 3 === 0 ? ['milestone'] : [];
        await store.appendCheckpoint(testEnvelope('a', step, [], { tags }), step + 1);
      }
      await store.appendCheckpoint(testEnvelope('b', 0, [], { savedAt: '2027-01-01T00:00:00.000Z' }), 1);
      const ids = async (query: Parameters<CheckpointStore['listCheckpoints']>[0]) =>
        (await store.listCheckpoints(query)).map((meta) => meta.id);
      same(await ids({ runId: 'a', limit: 3 }), ['a@11', 'a@10', 'a@9'], 'newest first');
      same(await ids({ runId: 'a', limit: 2, order: 'asc' }), ['a@0', 'a@1'], 'oldest first');
      same(await ids({ runId: 'a', tags: ['milestone'] }), ['a@9', 'a@6', 'a@3', 'a@0'], 'by tag');
      same(await ids({ limit: 2 }), ['b@0', 'a@11'], 'across runs, by time');
      const [meta] = await store.listCheckpoints({ runId: 'a', limit: 1 });
      same(
        [meta?.runId, meta?.stepNum, meta?.messageCount, meta?.status],
        ['a', 11, 0, 'active'],
        'metadata',
      );
    });

    it('deletes a checkpoint, moving the head back, and keeps the messages others share', async () => {
      const messages = [testMessage('one'), testMessage('two', 'assistant'), testMessage('three')];
      await store.createRun({ runId: 'r1', forkOf: null, messages: [] });
      await store.appendCheckpoint(testEnvelope('r1', 0, messages.slice(0, 2)), 1);
      await store.appendCheckpoint(testEnvelope('r1', 1, messages), 2);
      same(await store.deleteCheckpoint('r1@1'), true, 'delete');
      same(await store.deleteCheckpoint('r1@1'), false, 'second delete');
      same(await store.getCheckpoint('r1@1'), undefined, 'deleted checkpoint');
      same((await store.getRun('r1'))?.headCheckpointId, 'r1@0', 'head moved back');
      same((await store.getCheckpoint('r1@0'))?.context.messages, messages.slice(0, 2), 'earlier checkpoint');
      const record = await store.getRun('r1');
      same([record?.stepNum, record?.messageCount], [0, 2], 'the head step and its messages');
      // The run goes on from there, with a new step number: an id never names two contents.
      const next = {
        ...testEnvelope('r1', 2, [...messages.slice(0, 2), testMessage('four')]),
        parentId: 'r1@0',
      };
      await store.appendCheckpoint(next, record?.version ?? -1);
      same((await store.getCheckpoint('r1@2'))?.context.messages.at(-1), testMessage('four'), 'went on');
      same(
        await codeOf(
          store.appendCheckpoint(testEnvelope('r1', 1, messages), (await store.getRun('r1'))?.version ?? -1),
        ),
        'CHECKPOINT_INVALID',
        'a step number used before',
      );
    });

    it('reserves event seqs that no other reservation or logged event ever gets', async () => {
      const event = (seq: number) => ({
        event: { type: 'phase' as const, phase: 'plan' as const, turn: 0, runId: 'r1', seq, at: 0 },
      });
      await store.createRun({ runId: 'r1', forkOf: null, messages: [], reservedEventSeqs: 10 });
      const starts = await Promise.all(Array.from({ length: 20 }, () => store.reserveEventSeqs('r1', 5)));
      const seqs = [
        ...Array.from({ length: 10 }, (_, seq) => seq),
        ...starts.flatMap((start) => [0, 1, 2, 3, 4].map((offset) => start + offset)),
      ];
      same(new Set(seqs).size, seqs.length, 'no seq reserved twice, even by racing reservations');
      same(Math.min(...starts), 10, 'reservations start after those made with the run');
      await store.appendEvents('r1', [event(500)], { maxEvents: 10 });
      same(
        (await store.reserveEventSeqs('r1', 1)) > 500,
        true,
        'a reservation starts past the logged events',
      );
      same(await store.reserveEventSeqs('other', 3), 0, 'a run with nothing reserved starts at 0');
    });

    it('starts a run from another run’s messages, sharing them', async () => {
      const messages = [testMessage('one'), testMessage('two', 'assistant')];
      await store.createRun({ runId: 'base', forkOf: null, messages });
      await store.appendCheckpoint(testEnvelope('base', 0, messages), 1);
      await store.createRun({ runId: 'fork', forkOf: 'base@0', messages });
      const more = [...messages, testMessage('three')];
      await store.appendCheckpoint(testEnvelope('fork', 0, more), 1);
      same((await store.getCheckpoint('fork@0'))?.context.messages, more, 'fork messages');
      same((await store.getRun('fork'))?.forkOf, 'base@0', 'forkOf');
      same(await store.listForks('base'), [{ runId: 'fork', forkOf: 'base@0' }], 'forks of base');
      same(await store.listForks('fork'), [], 'forks of fork');
      same((await store.getCheckpoint('base@0'))?.context.messages, messages, 'base messages');
    });

    it('lists runs, by status, and changes a status with compare-and-set', async () => {
      await store.createRun({ runId: 'r1', forkOf: null, messages: [] });
      await store.createRun({ runId: 'r2', forkOf: null, messages: [] });
      await store.appendCheckpoint(testEnvelope('r2', 0, [], { status: 'done' }), 1);
      const r1 = await store.setRunStatus('r1', 'paused', 1);
      same(r1.version, 2, 'version after setRunStatus');
      same((await store.listRuns()).map((run) => run.runId).sort(), ['r1', 'r2'], 'all runs');
      same(
        (await store.listRuns({ status: 'paused' })).map((run) => run.runId),
        ['r1'],
        'paused runs',
      );
      same(
        (await store.listRuns({ status: ['done', 'active'] })).map((run) => run.runId),
        ['r2'],
        'done or active',
      );
    });

    it('commits runs to a session with compare-and-set, once per run', async () => {
      const said = (runId: string, text: string) => ({
        ...testMessage(text),
        runId,
        at: '2026-01-01T00:00:00.000Z',
      });
      same(await store.getSession('s1'), undefined, 'new session');
      const first = await store.commitToSession('s1', {
        runId: 'r1',
        messages: [said('r1', 'a'), said('r1', 'b')],
        expectedVersion: 0,
      });
      same([first.version, first.messageCount], [1, 2], 'after the first commit');
      same(
        await store.commitToSession('s1', { runId: 'r1', messages: [said('r1', 'a')], expectedVersion: 0 }),
        first,
        'the same run again',
      );
      const stale = store.commitToSession('s1', {
        runId: 'r2',
        messages: [said('r2', 'c')],
        expectedVersion: 0,
      });
      same(await codeOf(stale), 'CONCURRENCY', 'a stale commit');
      same(
        (await store.readSessionMessages('s1')).map((message) => message.content),
        [said('r1', 'a').content, said('r1', 'b').content],
        'messages',
      );
      await store.commitToSession('s1', { runId: 'r2', messages: [said('r2', 'c')], expectedVersion: 1 });
      same(
        (await store.readSessionMessages('s1', 2)).map((message) => message.runId),
        ['r2'],
        'messages from index 2',
      );
      same((await store.getSession('s1'))?.version, 2, 'version');
    });

    it('keeps a bounded event log per run, in seq order, ignoring events it holds', async () => {
      const event = (seq: number) => ({
        event: { type: 'phase' as const, phase: 'plan' as const, turn: 0, runId: 'r1', seq, at: 0 },
      });
      same(await store.readEvents('r1'), [], 'an empty log');
      await store.appendEvents('r1', [event(0), event(1), event(3)], { maxEvents: 4 });
      await store.appendEvents('r1', [event(1), event(4), event(5)], { maxEvents: 4 });
      same(
        (await store.readEvents('r1')).map((stored) => stored.event.seq),
        [1, 3, 4, 5],
        'the newest four, the repeat ignored',
      );
      same(
        (await store.readEvents('r1', 4)).map((stored) => stored.event.seq),
        [4, 5],
        'from seq 4',
      );
      await store.appendEvents('r1', [event(6), event(7), event(8), event(9), event(10)], { maxEvents: 4 });
      same(
        (await store.readEvents('r1')).map((stored) => stored.event.seq),
        [7, 8, 9, 10],
        'a batch larger than the bound',
      );
      same(await store.readEvents('r2'), [], 'another run');
    });

    it('reads long listings whole and in order, both ways (a backend that pages must not lose a page)', async () => {
      await store.createRun({ runId: 'long', forkOf: null, messages: [] });
      const steps = 600;
      for (let step = 0; step < steps; step++)
        await store.appendCheckpoint(testEnvelope('long', step, []), step + 1);
      const ascending = Array.from({ length: steps }, (_, step) => `long@${step}`);
      same(
        (await store.listCheckpoints({ runId: 'long', order: 'asc' })).map((meta) => meta.id),
        ascending,
        'oldest first',
      );
      same(
        (await store.listCheckpoints({ runId: 'long' })).map((meta) => meta.id),
        [...ascending].reverse(),
        'newest first',
      );
      const events = Array.from({ length: 1300 }, (_, seq) => ({
        event: { type: 'phase' as const, phase: 'plan' as const, turn: 0, runId: 'long', seq, at: 0 },
      }));
      await store.appendEvents('long', events, { maxEvents: 2000 });
      same(
        (await store.readEvents('long')).map((stored) => stored.event.seq),
        events.map(({ event }) => event.seq),
        'every event, in seq order',
      );
    });

    it('keeps the tool-call journal per run', async () => {
      const result = {
        type: 'tool-result' as const,
        toolCallId: 'call_1',
        toolName: 't',
        output: { n: 1 },
        isError: false,
      };
      await store.putToolResult('r1', result);
      same(await store.getToolResult('r1', 'call_1'), result, 'journaled result');
      same(await store.getToolResult('r2', 'call_1'), undefined, 'other run');
    });

    it('creates a run once when two store objects race to create it', async () => {
      const outcomes = await Promise.allSettled([
        store.createRun({ runId: 'twice', forkOf: null, messages: [testMessage('a')] }),
        other.createRun({ runId: 'twice', forkOf: null, messages: [testMessage('b')] }),
      ]);
      const codes = outcomes.map((outcome) =>
        outcome.status === 'fulfilled' ? 'created' : (outcome.reason as { code?: string }).code,
      );
      same([...codes].sort(), ['DUPLICATE_RUN_ID', 'created'], 'one created, one refused');
    });

    it('commits one of two runs racing to a session from two store objects', async () => {
      const said = (runId: string, text: string) => ({
        ...testMessage(text),
        runId,
        at: '2026-01-01T00:00:00.000Z',
      });
      const outcomes = await Promise.allSettled([
        store.commitToSession('race', { runId: 'a', messages: [said('a', 'from a')], expectedVersion: 0 }),
        other.commitToSession('race', { runId: 'b', messages: [said('b', 'from b')], expectedVersion: 0 }),
      ]);
      const codes = outcomes.map((outcome) =>
        outcome.status === 'fulfilled' ? 'committed' : (outcome.reason as { code?: string }).code,
      );
      same([...codes].sort(), ['CONCURRENCY', 'committed'], 'one committed, one refused');
      same((await other.readSessionMessages('race')).length, 1, 'the winner’s message only');
    });

    it('never reserves one event seq twice, with reservations racing on two store objects', async () => {
      await store.createRun({ runId: 'r1', forkOf: null, messages: [], reservedEventSeqs: 4 });
      const starts = await Promise.all(
        Array.from({ length: 20 }, (_, index) => (index % 2 === 0 ? store : other).reserveEventSeqs('r1', 3)),
      );
      const seqs = [0, 1, 2, 3, ...starts.flatMap((start) => [start, start + 1, start + 2])];
      same(new Set(seqs).size, seqs.length, 'every seq once');
    });

    it('fences a run taken over: the old owner writes nothing more', async () => {
      const created = await store.createRun({
        runId: 'owned',
        forkOf: null,
        messages: [testMessage('hi')],
        reservedEventSeqs: 10,
      });
      await store.appendCheckpoint(testEnvelope('owned', 0, [testMessage('hi')]), created.version);
      const before = await store.getRun('owned');
      const claimed = await other.claimRun('owned', before?.version ?? -1);
      same(
        [claimed.epoch, claimed.version],
        [(before?.epoch ?? 0) + 1, (before?.version ?? 0) + 1],
        'claimed',
      );
      same(
        await codeOf(store.claimRun('owned', before?.version ?? -1)),
        'CONCURRENCY',
        'a second claim of the same version',
      );
      const result = {
        type: 'tool-result' as const,
        toolCallId: 'late',
        toolName: 't',
        output: 'late',
        isError: false,
      };
      const event = {
        event: { type: 'phase' as const, phase: 'plan' as const, turn: 1, runId: 'owned', seq: 3, at: 0 },
      };
      const oldEpoch = before?.epoch ?? 0;
      same(
        await codeOf(store.putToolResult('owned', result, { epoch: oldEpoch })),
        'CONCURRENCY',
        'old owner’s journal',
      );
      same(await store.getToolResult('owned', 'late'), undefined, 'nothing journaled');
      same(
        await codeOf(store.appendEvents('owned', [event], { maxEvents: 10, epoch: oldEpoch })),
        'CONCURRENCY',
        'old owner’s events',
      );
      same(await store.readEvents('owned'), [], 'nothing logged');
      same(
        await codeOf(store.reserveEventSeqs('owned', 5, { epoch: oldEpoch })),
        'CONCURRENCY',
        'old owner’s seqs',
      );
      same(
        await codeOf(
          store.appendCheckpoint(testEnvelope('owned', 1, [testMessage('hi')]), before?.version ?? -1),
        ),
        'CONCURRENCY',
        'old owner’s checkpoint',
      );
      // The new owner writes.
      await other.putToolResult('owned', result, { epoch: claimed.epoch });
      await other.appendEvents('owned', [event], { maxEvents: 10, epoch: claimed.epoch });
      await other.appendCheckpoint(testEnvelope('owned', 1, [testMessage('hi')]), claimed.version);
      same(await store.getToolResult('owned', 'late'), result, 'the new owner’s journal');
      same((await store.readEvents('owned')).length, 1, 'the new owner’s events');
    });

    it('lets a fork share its past, and keeps it when the run it came from goes back', async () => {
      const history = [
        testMessage('q1'),
        testMessage('a1', 'assistant'),
        testMessage('q2'),
        testMessage('a2', 'assistant'),
      ];
      await store.createRun({ runId: 'base', forkOf: null, messages: history.slice(0, 1) });
      for (let step = 0; step < 4; step++) {
        const record = await store.getRun('base');
        await store.appendCheckpoint(
          testEnvelope('base', step, history.slice(0, step + 1)),
          record?.version ?? -1,
        );
      }
      // A fork from base@3 (4 messages) that shares them and adds one.
      const forked = [...history, testMessage('q3 of the fork')];
      await other.createRun({
        runId: 'fork',
        forkOf: 'base@3',
        messages: forked,
        inherits: { checkpointId: 'base@3', count: 4 },
        firstCheckpoint: { ...testEnvelope('fork', 0, forked), forkOf: 'base@3', parentId: 'base@3' },
      });
      same((await store.getCheckpoint('fork@0'))?.context.messages, forked, 'the fork’s conversation');
      // base goes back two steps and on, differently.
      await store.deleteCheckpoint('base@3');
      await store.deleteCheckpoint('base@2');
      const back = await store.getRun('base');
      same([back?.headCheckpointId, back?.messageCount], ['base@1', 2], 'base went back');
      const other2 = [...history.slice(0, 2), testMessage('another q2')];
      await store.appendCheckpoint(testEnvelope('base', 4, other2), back?.version ?? -1);
      same((await store.getCheckpoint('base@4'))?.context.messages, other2, 'base went on');
      same((await other.getCheckpoint('fork@0'))?.context.messages, forked, 'the fork kept its past');
      same(
        (await store.getCheckpoint('base@1'))?.context.messages,
        history.slice(0, 2),
        'an older checkpoint',
      );
    });
  });
}
