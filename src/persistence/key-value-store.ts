import { createHash } from 'node:crypto';
import { AgentchartError, ConcurrencyError, runNotFound } from '../agentchart-error.js';
import { deepFreeze } from '../deep-freeze.js';
import type { Message, ToolResultBlock } from '../model/message.js';
import {
  type CheckpointEnvelope,
  type CheckpointMeta,
  type CheckpointStatus,
  checkpointMetaSchema,
  metaOf,
  parseCheckpointEnvelope,
  parseCheckpointJson,
  runOfCheckpoint,
} from './checkpoint-envelope.js';
import type {
  AppendEventsOptions,
  CheckpointQuery,
  CheckpointStore,
  NewRun,
  RunQuery,
  RunRecord,
  SessionCommit,
  SessionMessage,
  SessionRecord,
  StoredRunEvent,
} from './checkpoint-store.js';
import type { KeyValue, KeyValueWrite } from './key-value.js';
import { createKeyedMutex } from './keyed-mutex.js';

// Key layout. Numbers are zero-padded so that byte order is numeric order.
const runKey = (runId: string) => `run!${runId}`;
const statusKey = (status: string, runId: string) => `rstat!${status}!${runId}`;
const metaKey = (id: string) => `cmeta!${id}`;
const bodyKey = (id: string) => `cbody!${id}`;
const stepKey = (runId: string, stepNum: number) => `cseq!${runId}!${String(stepNum).padStart(12, '0')}`;
const timeKey = (savedAt: string, id: string) => `ctime!${savedAt}!${id}`;
const logKey = (runId: string, index: number) => `log!${runId}!${String(index).padStart(10, '0')}`;
const blobKey = (hash: string) => `blob!${hash}`;
const toolKey = (runId: string, toolCallId: string) => `tool!${runId}!${toolCallId}`;
const forkKey = (parentRunId: string, runId: string) => `fork!${parentRunId}!${runId}`;
const sessionKey = (sessionId: string) => `sess!${sessionId}`;
const sessionMessageKey = (sessionId: string, index: number) =>
  `smsg!${sessionId}!${String(index).padStart(10, '0')}`;
const sessionCommitKey = (sessionId: string, runId: string) => `scommit!${sessionId}!${runId}`;

const eventKey = (runId: string, seq: number) => `ev!${runId}!${String(seq).padStart(12, '0')}`;
const eventMetaKey = (runId: string) => `evm!${runId}`;

/** How many events a run's log holds, and the seq its next one gets. */
interface EventLogMeta {
  next: number;
  count: number;
}

const end = '\uffff';

/** Options of {@link createKeyValueStore}. */
export interface KeyValueStoreOptions {
  /**
   * This process is the only one that writes to the space (LevelDB's lock ensures it; memory is
   * private): run records are then kept in memory instead of being read before every write.
   */
  exclusive?: boolean;
}

/**
 * A {@link CheckpointStore} on any ordered {@link KeyValue} space. Messages are stored once, by the
 * SHA-256 of their JSON, and each run keeps a log of message hashes: a checkpoint writes only the
 * messages that are new since its run's last one, and a run started from another run's checkpoint
 * shares that run's messages instead of copying them.
 */
export function createKeyValueStore(kv: KeyValue, options: KeyValueStoreOptions = {}): CheckpointStore {
  const mutex = createKeyedMutex();
  // Only when this process is the only writer may run records be kept in memory between writes.
  const records = options.exclusive === true ? new Map<string, RunRecord>() : undefined;
  // The hashes of message objects this store has read or written: their blobs are stored.
  const storedHashes = new WeakMap<Message, string>();
  // Likewise the heads of event logs (read before every append otherwise).
  const eventMetas = options.exclusive === true ? new Map<string, EventLogMeta>() : undefined;
  async function readEventMeta(runId: string): Promise<EventLogMeta> {
    const cached = eventMetas?.get(runId);
    if (cached !== undefined) return cached;
    const text = await kv.get(eventMetaKey(runId));
    return text === undefined
      ? { next: 0, count: 0 }
      : (parseCheckpointJson(text, `the event log of run '${runId}'`) as EventLogMeta);
  }

  async function readRun(runId: string): Promise<RunRecord | undefined> {
    const cached = records?.get(runId);
    if (cached !== undefined) return cached;
    const text = await kv.get(runKey(runId));
    if (text === undefined) return undefined;
    const record = parseCheckpointJson(text, `run '${runId}'`) as RunRecord;
    records?.set(runId, record);
    return record;
  }

  /** Applies the writes in one batch, then remembers the run record they wrote. */
  async function commit(writes: KeyValueWrite[], record: RunRecord | undefined): Promise<void> {
    await kv.batch(writes);
    if (record !== undefined) records?.set(record.runId, record);
  }

  async function requireRun(runId: string, expectedVersion: number): Promise<RunRecord> {
    const record = await readRun(runId);
    if (record === undefined) {
      throw runNotFound(runId);
    }
    if (record.version !== expectedVersion) {
      throw new ConcurrencyError({
        message: `Run '${runId}' is at version ${record.version}, not ${expectedVersion}: another writer changed it`,
        expectedVersion,
        actualVersion: record.version,
        details: { runId },
      });
    }
    return record;
  }

  function recordWrites(previous: RunRecord | undefined, next: RunRecord): KeyValueWrite[] {
    const writes: KeyValueWrite[] = [{ type: 'put', key: runKey(next.runId), value: JSON.stringify(next) }];
    if (previous?.status !== next.status) {
      if (previous !== undefined) writes.push({ type: 'del', key: statusKey(previous.status, next.runId) });
      writes.push({ type: 'put', key: statusKey(next.status, next.runId), value: '' });
    }
    return writes;
  }

  /** Writes for the messages from `from` on: their blobs (unless `known` has them) and log entries. */
  async function messageWrites(
    runId: string,
    messages: readonly Message[],
    from: number,
    skipKnownBlobs: boolean,
  ) {
    const writes: KeyValueWrite[] = [];
    // Messages this store read or wrote have their hash (and blob) known already: no hashing, no lookup.
    const fresh = messages.slice(from).map((message) => {
      const hash = storedHashes.get(message);
      if (hash !== undefined) return { json: undefined, hash };
      const json = JSON.stringify(message);
      return { json, hash: createHash('sha256').update(json).digest('base64url') };
    });
    const unknown = fresh.filter(({ json }) => json !== undefined);
    const existing = skipKnownBlobs ? await kv.getMany(unknown.map(({ hash }) => blobKey(hash))) : [];
    const present = new Set(
      unknown.filter((_, index) => existing[index] !== undefined).map(({ hash }) => hash),
    );
    for (const [offset, { json, hash }] of fresh.entries()) {
      if (json !== undefined && !present.has(hash))
        writes.push({ type: 'put', key: blobKey(hash), value: json });
      writes.push({ type: 'put', key: logKey(runId, from + offset), value: hash });
    }
    return writes;
  }

  async function readMessages(
    runId: string,
    count: number,
    source: string,
  ): Promise<{ messages: Message[]; hashes: string[] }> {
    if (count === 0) return { messages: [], hashes: [] };
    const hashes: string[] = [];
    for await (const [, hash] of kv.range({ gte: logKey(runId, 0), lt: logKey(runId, count) }))
      hashes.push(hash);
    const blobs = hashes.length === count ? await kv.getMany(hashes.map(blobKey)) : [];
    if (blobs.length !== count || blobs.some((blob) => blob === undefined)) {
      throw new AgentchartError({
        code: 'CHECKPOINT_CORRUPT',
        message: `The checkpoint ${source} is corrupt: ${count - blobs.filter(Boolean).length} of its ${count} messages are missing`,
        details: { source },
      });
    }
    const messages = blobs.map(
      (blob, index) => parseCheckpointJson(blob as string, `${source} (message ${index})`) as Message,
    );
    return { messages, hashes };
  }

  async function readMetas(ids: readonly string[]): Promise<CheckpointMeta[]> {
    const texts = await kv.getMany(ids.map(metaKey));
    const metas: CheckpointMeta[] = [];
    for (const text of texts) {
      if (text === undefined) continue;
      try {
        const parsed = checkpointMetaSchema.safeParse(JSON.parse(text));
        // A corrupt description is left where it is (nothing is deleted) and out of listings.
        if (parsed.success) metas.push(parsed.data);
      } catch {}
    }
    return metas;
  }

  /** The writes of a checkpoint (without its new messages) and the run record after it. */
  function checkpointWrites(record: RunRecord, envelope: CheckpointEnvelope) {
    const { context, snapshot } = envelope;
    const { messages, ...rest } = context;
    if (
      envelope.runId !== record.runId ||
      envelope.stepNum <= record.stepNum ||
      messages.length < record.messageCount
    ) {
      throw new AgentchartError({
        code: 'CHECKPOINT_INVALID',
        message: `Checkpoint '${envelope.id}' does not follow run '${record.runId}': step ${envelope.stepNum} after step ${record.stepNum}, ${messages.length} messages after ${record.messageCount}`,
        details: { checkpointId: envelope.id },
      });
    }
    const meta = metaOf(envelope);
    const next: RunRecord = {
      ...record,
      status: envelope.status,
      version: record.version + 1,
      headCheckpointId: envelope.id,
      stepNum: envelope.stepNum,
      messageCount: messages.length,
      updatedAt: envelope.savedAt,
    };
    const writes: KeyValueWrite[] = [
      { type: 'put', key: metaKey(envelope.id), value: JSON.stringify(meta) },
      { type: 'put', key: bodyKey(envelope.id), value: JSON.stringify({ context: rest, snapshot }) },
      { type: 'put', key: stepKey(envelope.runId, envelope.stepNum), value: envelope.id },
      { type: 'put', key: timeKey(envelope.savedAt, envelope.id), value: envelope.id },
      ...recordWrites(record.version === 0 ? undefined : record, next),
    ];
    return { writes, next };
  }

  return {
    createRun: (run: NewRun) =>
      mutex.run(run.runId, async () => {
        if ((await readRun(run.runId)) !== undefined) {
          throw new AgentchartError({
            code: 'DUPLICATE_RUN_ID',
            message: `A run '${run.runId}' already exists in the store`,
            details: { runId: run.runId },
          });
        }
        const now = new Date().toISOString();
        const record: RunRecord = {
          runId: run.runId,
          status: 'active',
          version: 1,
          headCheckpointId: null,
          stepNum: -1,
          messageCount: run.messages.length,
          forkOf: run.forkOf,
          createdAt: now,
          updatedAt: now,
        };
        const writes = await messageWrites(run.runId, run.messages, 0, true);
        if (run.forkOf !== null)
          writes.push({
            type: 'put',
            key: forkKey(runOfCheckpoint(run.forkOf), run.runId),
            value: run.forkOf,
          });
        if (run.firstCheckpoint === undefined) {
          await commit([...writes, ...recordWrites(undefined, record)], record);
          return record;
        }
        const first = checkpointWrites({ ...record, version: 0 }, run.firstCheckpoint);
        await commit([...writes, ...first.writes], first.next);
        return first.next;
      }),

    getRun: async (runId: string) => {
      const record = await readRun(runId);
      return record === undefined ? undefined : { ...record };
    },

    async listRuns(query: RunQuery = {}) {
      const limit = query.limit ?? Number.POSITIVE_INFINITY;
      let runIds: string[] = [];
      if (query.status === undefined) {
        for await (const [key] of kv.range({ gte: 'run!', lt: `run!${end}` })) runIds.push(key.slice(4));
      } else {
        const statuses = typeof query.status === 'string' ? [query.status] : query.status;
        for (const status of statuses) {
          const prefix = `rstat!${status}!`;
          for await (const [key] of kv.range({ gte: prefix, lt: prefix + end }))
            runIds.push(key.slice(prefix.length));
        }
      }
      runIds = runIds.slice(0, limit);
      const texts = await kv.getMany(runIds.map(runKey));
      return texts.flatMap((text) => (text === undefined ? [] : [JSON.parse(text) as RunRecord]));
    },

    setRunStatus: (runId: string, status: CheckpointStatus, expectedVersion: number) =>
      mutex.run(runId, async () => {
        const record = await requireRun(runId, expectedVersion);
        const next = { ...record, status, version: record.version + 1, updatedAt: new Date().toISOString() };
        await commit(recordWrites(record, next), next);
        return next;
      }),

    appendCheckpoint: (envelope: CheckpointEnvelope, expectedVersion: number) =>
      mutex.run(envelope.runId, async () => {
        const record = await requireRun(envelope.runId, expectedVersion);
        const { writes, next } = checkpointWrites(record, envelope);
        const { messages } = envelope.context;
        await commit(
          [...(await messageWrites(envelope.runId, messages, record.messageCount, false)), ...writes],
          next,
        );
        return next;
      }),

    async getCheckpoint(checkpointId: string) {
      const [metaText, bodyText] = await kv.getMany([metaKey(checkpointId), bodyKey(checkpointId)]);
      if (metaText === undefined && bodyText === undefined) return undefined;
      const source = `'${checkpointId}'`;
      if (metaText === undefined || bodyText === undefined) {
        throw new AgentchartError({
          code: 'CHECKPOINT_CORRUPT',
          message: `The checkpoint ${source} is corrupt: its ${metaText === undefined ? 'description' : 'body'} is missing`,
          details: { source },
        });
      }
      const meta = parseCheckpointJson(metaText, source) as Partial<CheckpointMeta>;
      const body = parseCheckpointJson(bodyText, source) as { context?: object; snapshot?: unknown };
      const count = meta?.messageCount;
      const runId = meta?.runId;
      const { messages, hashes } =
        typeof runId === 'string' && Number.isInteger(count)
          ? await readMessages(runId, count as number, source)
          : { messages: [], hashes: [] };
      // The description keeps a few figures of the context for listings; the envelope has the context itself.
      const {
        messageCount: _,
        turn: __,
        usage: ___,
        costUsd: ____,
        summary: _____,
        ...described
      } = meta ?? {};
      const envelope = parseCheckpointEnvelope(
        { ...described, context: { ...body?.context, messages }, snapshot: body?.snapshot },
        source,
      );
      // Frozen, so that the hash remembered for each message object stays true to its content.
      for (const [index, message] of envelope.context.messages.entries()) {
        storedHashes.set(deepFreeze(message), hashes[index] as string);
      }
      return envelope;
    },

    async listCheckpoints(query: CheckpointQuery = {}) {
      const reverse = (query.order ?? 'desc') === 'desc';
      const limit = query.limit ?? Number.POSITIVE_INFINITY;
      const tags = query.tags ?? [];
      const range =
        query.runId === undefined
          ? { gte: 'ctime!', lt: `ctime!${end}` }
          : { gte: `cseq!${query.runId}!`, lt: `cseq!${query.runId}!${end}` };
      const found: CheckpointMeta[] = [];
      let page: string[] = [];
      const flush = async () => {
        for (const meta of await readMetas(page)) {
          if (found.length < limit && tags.every((tag) => meta.tags.includes(tag))) found.push(meta);
        }
        page = [];
      };
      for await (const [, id] of kv.range({ ...range, reverse })) {
        page.push(id);
        if (page.length === 100) await flush();
        if (found.length >= limit) break;
      }
      await flush();
      return found;
    },

    async deleteCheckpoint(checkpointId: string) {
      const [meta] = await readMetas([checkpointId]);
      if (meta === undefined) return false;
      return mutex.run(meta.runId, async () => {
        const writes: KeyValueWrite[] = [
          { type: 'del', key: metaKey(checkpointId) },
          { type: 'del', key: bodyKey(checkpointId) },
          { type: 'del', key: stepKey(meta.runId, meta.stepNum) },
          { type: 'del', key: timeKey(meta.savedAt, checkpointId) },
        ];
        const record = await readRun(meta.runId);
        if (record?.headCheckpointId === checkpointId) {
          let previous: string | null = null;
          const before = {
            gte: `cseq!${meta.runId}!`,
            lt: stepKey(meta.runId, meta.stepNum),
            reverse: true,
            limit: 1,
          };
          for await (const [, id] of kv.range(before)) previous = id;
          const next = {
            ...record,
            headCheckpointId: previous,
            version: record.version + 1,
            updatedAt: new Date().toISOString(),
          };
          writes.push(...recordWrites(record, next));
          await commit(writes, next);
          return true;
        }
        await commit(writes, undefined);
        return true;
      });
    },

    async listForks(runId: string) {
      const prefix = `fork!${runId}!`;
      const forks: { runId: string; forkOf: string }[] = [];
      for await (const [key, forkOf] of kv.range({ gte: prefix, lt: prefix + end })) {
        forks.push({ runId: key.slice(prefix.length), forkOf });
      }
      return forks;
    },

    async getSession(sessionId: string) {
      const text = await kv.get(sessionKey(sessionId));
      return text === undefined
        ? undefined
        : (parseCheckpointJson(text, `session '${sessionId}'`) as SessionRecord);
    },

    async readSessionMessages(sessionId: string, from = 0) {
      const messages: SessionMessage[] = [];
      const range = { gte: sessionMessageKey(sessionId, from), lt: `smsg!${sessionId}!${end}` };
      for await (const [, text] of kv.range(range)) {
        messages.push(parseCheckpointJson(text, `a message of session '${sessionId}'`) as SessionMessage);
      }
      return messages;
    },

    commitToSession: (sessionId: string, commit: SessionCommit) =>
      mutex.run(`session:${sessionId}`, async () => {
        const [recordText, committed] = await kv.getMany([
          sessionKey(sessionId),
          sessionCommitKey(sessionId, commit.runId),
        ]);
        const now = new Date().toISOString();
        const record: SessionRecord =
          recordText === undefined
            ? { sessionId, version: 0, messageCount: 0, createdAt: now, updatedAt: now }
            : (parseCheckpointJson(recordText, `session '${sessionId}'`) as SessionRecord);
        if (committed !== undefined) return record;
        if (record.version !== commit.expectedVersion) {
          throw new ConcurrencyError({
            message: `Session '${sessionId}' is at version ${record.version}, not ${commit.expectedVersion}: another run committed to it first`,
            expectedVersion: commit.expectedVersion,
            actualVersion: record.version,
            details: { sessionId, runId: commit.runId },
          });
        }
        const next: SessionRecord = {
          ...record,
          version: record.version + 1,
          messageCount: record.messageCount + commit.messages.length,
          updatedAt: now,
        };
        await kv.batch([
          ...commit.messages.map((message, offset) => ({
            type: 'put' as const,
            key: sessionMessageKey(sessionId, record.messageCount + offset),
            value: JSON.stringify(message),
          })),
          { type: 'put', key: sessionKey(sessionId), value: JSON.stringify(next) },
          { type: 'put', key: sessionCommitKey(sessionId, commit.runId), value: String(next.version) },
        ]);
        return next;
      }),

    appendEvents: (runId: string, events: readonly StoredRunEvent[], { maxEvents }: AppendEventsOptions) =>
      mutex.run(`events:${runId}`, async () => {
        const meta = await readEventMeta(runId);
        const fresh: StoredRunEvent[] = [];
        let last = meta.next - 1;
        for (const stored of events) {
          if (stored.event.seq <= last) continue;
          fresh.push(stored);
          last = stored.event.seq;
        }
        if (fresh.length === 0) return;
        // Beyond the bound the oldest go: first those stored, then (if the batch alone is too big) its first.
        const excess = Math.max(0, meta.count + fresh.length - maxEvents);
        const writes: KeyValueWrite[] = [];
        if (excess > 0 && meta.count > 0) {
          const prefix = `ev!${runId}!`;
          const limit = Math.min(excess, meta.count);
          for await (const [key] of kv.range({ gte: prefix, lt: prefix + end, limit })) {
            writes.push({ type: 'del', key });
          }
        }
        const kept = fresh.slice(Math.max(0, excess - writes.length));
        for (const stored of kept) {
          writes.push({ type: 'put', key: eventKey(runId, stored.event.seq), value: JSON.stringify(stored) });
        }
        const next = last + 1;
        const count = meta.count - (writes.length - kept.length) + kept.length;
        writes.push({ type: 'put', key: eventMetaKey(runId), value: JSON.stringify({ next, count }) });
        await kv.batch(writes);
        eventMetas?.set(runId, { next, count });
      }),

    async readEvents(runId: string, fromSeq = 0) {
      const events: StoredRunEvent[] = [];
      const range = { gte: eventKey(runId, Math.max(0, fromSeq)), lt: `ev!${runId}!${end}` };
      for await (const [, text] of kv.range(range)) {
        events.push(parseCheckpointJson(text, `an event of run '${runId}'`) as StoredRunEvent);
      }
      return events;
    },

    async nextEventSeq(runId: string) {
      return (await readEventMeta(runId)).next;
    },

    async getToolResult(runId: string, toolCallId: string) {
      const text = await kv.get(toolKey(runId, toolCallId));
      return text === undefined
        ? undefined
        : (parseCheckpointJson(text, `journal entry '${toolCallId}'`) as ToolResultBlock);
    },

    putToolResult: (runId: string, result: ToolResultBlock) =>
      kv.batch([{ type: 'put', key: toolKey(runId, result.toolCallId), value: JSON.stringify(result) }]),

    close: () => kv.close(),
  };
}
