import { AgentchartError, ConcurrencyError, runNotFound } from '../../agentchart-error.js';
import {
  type CheckpointEnvelope,
  type CheckpointMeta,
  type CheckpointStatus,
  checkpointMetaSchema,
  metaOf,
  parseCheckpointEnvelope,
  parseCheckpointJson,
  runOfCheckpoint,
} from '../checkpoint-envelope.js';
import type { ContentBlob } from '../content-blobs.js';
import type { CheckpointQuery, NewRun, RunQuery, RunRecord, RunStore } from '../run-store.js';
import { boundedMap } from './bounded-map.js';
import { keys, prefixRange } from './key-layout.js';
import type { KeyValue, KeyValueWrite } from './key-value.js';
import { eventLogHeadWrite } from './key-value-event-log.js';
import type { KeyValueMessages } from './key-value-messages.js';

/** A run record as the space keeps it: the record, and the message log the run writes to. */
interface StoredRun extends RunRecord {
  /** The run's message log (its id when omitted). */
  log?: string;
}

/** A checkpoint's body as the space keeps it: its context without messages, its snapshot, its log. */
interface StoredBody {
  context?: object;
  snapshot?: unknown;
  /** The message log its messages are in (its run's id when omitted). */
  log?: string;
}

/**
 * The run role of a store on a key-value space: run records (with an index by status),
 * checkpoints (a description and a body, indexed by step and by time), and the index of forks.
 * Every write to a run is conditional on the record it read, decided by the space. It remembers
 * the record it last wrote of at most `rememberedRuns` runs.
 */
export function keyValueRuns(kv: KeyValue, messages: KeyValueMessages, rememberedRuns: number): RunStore {
  const { messageWrites, readMessages, inheritanceWrite, blobs } = messages;
  /** A run as stored: its record, its message log, and the text a conditional write expects. */
  interface ReadRun {
    record: RunRecord;
    log: string;
    text: string;
  }

  /**
   * What this store object last wrote of each run (record, log, text), oldest first, bounded: the
   * expectation of the run's next checkpoint, so that a run's steps do not read back the record
   * they wrote. Only a guess: the space decides (`batchIf` against what it holds), and a write
   * refused on a guess goes the ordinary way (read, check the version, write).
   */
  const lastWritten = boundedMap<ReadRun>(rememberedRuns);
  function wrote(record: RunRecord, log: string, writes: readonly KeyValueWrite[]): void {
    const key = keys.run(record.runId);
    const put = writes.find((write) => write.key === key);
    if (put?.type === 'put') lastWritten.set(record.runId, { record, log, text: put.value });
    else lastWritten.delete(record.runId);
  }

  async function readRun(runId: string): Promise<ReadRun | undefined> {
    const text = await kv.get(keys.run(runId));
    if (text === undefined) return undefined;
    const { log, ...record } = parseCheckpointJson(text, `run '${runId}'`) as StoredRun;
    return { record: recordOf(record), log: log ?? runId, text };
  }

  /** Applies writes that store blobs, then remembers the blobs as stored. */
  async function writeWithBlobs(apply: () => Promise<void>, written: readonly ContentBlob[]): Promise<void> {
    await apply();
    blobs.stored(written);
  }

  /** A checkpoint's message log and message count, read from its body and description. */
  async function logOf(checkpointId: string): Promise<{ log: string; messageCount: number } | undefined> {
    const [metaText, bodyText] = await kv.getMany([
      keys.checkpointMeta(checkpointId),
      keys.checkpointBody(checkpointId),
    ]);
    if (metaText === undefined || bodyText === undefined) return undefined;
    const meta = parseCheckpointJson(metaText, `'${checkpointId}'`) as Partial<CheckpointMeta>;
    const body = parseCheckpointJson(bodyText, `'${checkpointId}'`) as StoredBody;
    if (!Number.isInteger(meta.messageCount)) return undefined;
    return { log: body.log ?? runOfCheckpoint(checkpointId), messageCount: meta.messageCount as number };
  }

  function staleRun(runId: string, expectedVersion: number, actualVersion: number): ConcurrencyError {
    return new ConcurrencyError({
      message: `Run '${runId}' is at version ${actualVersion}, not ${expectedVersion}: another writer changed it`,
      expectedVersion,
      actualVersion,
      details: { runId },
    });
  }

  /** Reads the run and checks its version; `RUN_NOT_FOUND` or `CONCURRENCY` otherwise. */
  async function requireRun(runId: string, expectedVersion: number) {
    const found = await readRun(runId);
    if (found === undefined) throw runNotFound(runId);
    if (found.record.version !== expectedVersion)
      throw staleRun(runId, expectedVersion, found.record.version);
    return found;
  }

  /** Applies the writes if the run record is still the one read; `CONCURRENCY` (nothing written) otherwise. */
  async function writeRun(read: ReadRun, writes: KeyValueWrite[], next: RunRecord): Promise<void> {
    const { runId, version } = read.record;
    if (await kv.batchIf([{ key: keys.run(runId), value: read.text }], writes)) {
      wrote(next, read.log, writes);
      return;
    }
    lastWritten.delete(runId);
    const now = await readRun(runId);
    if (now === undefined) throw runNotFound(runId);
    throw staleRun(runId, version, now.record.version);
  }

  /**
   * Appends a checkpoint expecting the run record this object last wrote; undefined (nothing
   * written) if the space holds another, or if the checkpoint does not follow that record: the
   * caller then reads the record and decides as usual.
   */
  async function appendOnGuess(guess: ReadRun, envelope: CheckpointEnvelope): Promise<RunRecord | undefined> {
    let planned: ReturnType<typeof checkpointWrites>;
    try {
      planned = checkpointWrites(guess.record, guess.log, envelope);
    } catch {
      return undefined;
    }
    const { runId } = guess.record;
    const fresh = await messageWrites(guess.log, envelope.context.messages, guess.record.messageCount);
    const writes = [...fresh.writes, ...planned.writes];
    if (!(await kv.batchIf([{ key: keys.run(runId), value: guess.text }], writes))) {
      lastWritten.delete(runId);
      return undefined;
    }
    blobs.stored(fresh.blobs);
    wrote(planned.next, guess.log, writes);
    return planned.next;
  }

  function recordWrites(previous: RunRecord | undefined, next: RunRecord, log: string): KeyValueWrite[] {
    const stored: StoredRun = log === next.runId ? next : { ...next, log };
    const writes: KeyValueWrite[] = [
      { type: 'put', key: keys.run(next.runId), value: JSON.stringify(stored) },
    ];
    if (previous?.status !== next.status) {
      if (previous !== undefined)
        writes.push({ type: 'del', key: keys.runStatus(previous.status, next.runId) });
      writes.push({ type: 'put', key: keys.runStatus(next.status, next.runId), value: '' });
    }
    return writes;
  }

  async function readMetas(ids: readonly string[]): Promise<CheckpointMeta[]> {
    const texts = await kv.getMany(ids.map(keys.checkpointMeta));
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
  function checkpointWrites(record: RunRecord, log: string, envelope: CheckpointEnvelope) {
    const { context, snapshot } = envelope;
    const { messages, ...rest } = context;
    if (
      envelope.runId !== record.runId ||
      envelope.stepNum <= record.lastStepNum ||
      messages.length < record.messageCount
    ) {
      throw new AgentchartError({
        code: 'CHECKPOINT_INVALID',
        message: `Checkpoint '${envelope.id}' does not follow run '${record.runId}': step ${envelope.stepNum} after step ${record.lastStepNum}, ${messages.length} messages after ${record.messageCount}`,
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
      lastStepNum: envelope.stepNum,
      messageCount: messages.length,
      updatedAt: envelope.savedAt,
    };
    const writes: KeyValueWrite[] = [
      { type: 'put', key: keys.checkpointMeta(envelope.id), value: JSON.stringify(meta) },
      {
        type: 'put',
        key: keys.checkpointBody(envelope.id),
        value: JSON.stringify({ context: rest, snapshot, ...(log === envelope.runId ? {} : { log }) }),
      },
      { type: 'put', key: keys.checkpointStep(envelope.runId, envelope.stepNum), value: envelope.id },
      { type: 'put', key: keys.checkpointTime(envelope.savedAt, envelope.id), value: envelope.id },
      ...recordWrites(record.version === 0 ? undefined : record, next, log),
    ];
    return { writes, next };
  }

  return {
    async createRun(run: NewRun) {
      const now = new Date().toISOString();
      const record: RunRecord = {
        runId: run.runId,
        status: 'active',
        version: 1,
        headCheckpointId: null,
        stepNum: -1,
        lastStepNum: -1,
        messageCount: run.messages.length,
        forkOf: run.forkOf,
        epoch: 1,
        createdAt: now,
        updatedAt: now,
      };
      // The messages it shares with the checkpoint it starts from are that checkpoint's log's, not copies.
      const source = run.inherits === undefined ? undefined : await logOf(run.inherits.checkpointId);
      const shared = source === undefined ? 0 : Math.min(run.inherits?.count ?? 0, source.messageCount);
      const { writes, blobs: written } = await messageWrites(run.runId, run.messages, shared);
      if (source !== undefined && shared > 0)
        writes.push(inheritanceWrite(run.runId, { logId: source.log, count: shared }));
      writes.push({ type: 'put', key: keys.runEpoch(run.runId), value: String(record.epoch) });
      if (run.forkOf !== null)
        writes.push({
          type: 'put',
          key: keys.fork(runOfCheckpoint(run.forkOf), run.runId),
          value: run.forkOf,
        });
      const reserved = run.reservedEventSeqs ?? 0;
      if (reserved > 0) writes.push(eventLogHeadWrite(run.runId, { next: 0, count: 0, reserved }));
      let created = record;
      if (run.firstCheckpoint === undefined) writes.push(...recordWrites(undefined, record, run.runId));
      else {
        const first = checkpointWrites({ ...record, version: 0 }, run.runId, run.firstCheckpoint);
        writes.push(...first.writes);
        created = first.next;
      }
      if (!(await kv.batchIf([{ key: keys.run(run.runId), value: undefined }], writes))) {
        throw new AgentchartError({
          code: 'DUPLICATE_RUN_ID',
          message: `A run '${run.runId}' already exists in the store`,
          details: { runId: run.runId },
        });
      }
      blobs.stored(written);
      wrote(created, run.runId, writes);
      return created;
    },

    async claimRun(runId: string, expectedVersion: number) {
      const read = await requireRun(runId, expectedVersion);
      const next: RunRecord = {
        ...read.record,
        version: read.record.version + 1,
        epoch: read.record.epoch + 1,
        updatedAt: new Date().toISOString(),
      };
      await writeRun(
        read,
        [
          ...recordWrites(read.record, next, read.log),
          { type: 'put', key: keys.runEpoch(runId), value: String(next.epoch) },
        ],
        next,
      );
      return next;
    },

    getRun: async (runId: string) => (await readRun(runId))?.record,

    async listRuns(query: RunQuery = {}) {
      const limit = query.limit ?? Number.POSITIVE_INFINITY;
      let runIds: string[] = [];
      if (query.status === undefined) {
        for await (const [key] of kv.range(prefixRange(keys.runs))) runIds.push(key.slice(keys.runs.length));
      } else {
        const statuses = typeof query.status === 'string' ? [query.status] : query.status;
        for (const status of statuses) {
          const prefix = keys.runsWithStatus(status);
          for await (const [key] of kv.range(prefixRange(prefix))) runIds.push(key.slice(prefix.length));
        }
      }
      runIds = runIds.slice(0, limit);
      const texts = await kv.getMany(runIds.map(keys.run));
      return texts.flatMap((text, index) =>
        text === undefined
          ? []
          : [recordOf(parseCheckpointJson(text, `run '${runIds[index]}'`) as RunRecord)],
      );
    },

    async setRunStatus(runId: string, status: CheckpointStatus, expectedVersion: number) {
      const read = await requireRun(runId, expectedVersion);
      const next = {
        ...read.record,
        status,
        version: read.record.version + 1,
        updatedAt: new Date().toISOString(),
      };
      await writeRun(read, recordWrites(read.record, next, read.log), next);
      return next;
    },

    async appendCheckpoint(envelope: CheckpointEnvelope, expectedVersion: number) {
      const guess = lastWritten.get(envelope.runId);
      if (guess !== undefined && guess.record.version === expectedVersion) {
        const written = await appendOnGuess(guess, envelope);
        if (written !== undefined) return written;
      }
      const read = await requireRun(envelope.runId, expectedVersion);
      const { writes, next } = checkpointWrites(read.record, read.log, envelope);
      const fresh = await messageWrites(read.log, envelope.context.messages, read.record.messageCount);
      await writeWithBlobs(() => writeRun(read, [...fresh.writes, ...writes], next), fresh.blobs);
      return next;
    },

    async getCheckpoint(checkpointId: string) {
      const [metaText, bodyText] = await kv.getMany([
        keys.checkpointMeta(checkpointId),
        keys.checkpointBody(checkpointId),
      ]);
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
      const body = parseCheckpointJson(bodyText, source) as StoredBody;
      const count = meta?.messageCount;
      const runId = meta?.runId;
      const messages =
        typeof runId === 'string' && Number.isInteger(count)
          ? await readMessages(body?.log ?? runId, count as number, source)
          : [];
      // The description keeps a few figures of the context for listings; the envelope has the context itself.
      const {
        messageCount: _,
        turn: __,
        usage: ___,
        costUsd: ____,
        summary: _____,
        ...described
      } = meta ?? {};
      return parseCheckpointEnvelope(
        { ...described, context: { ...body?.context, messages }, snapshot: body?.snapshot },
        source,
      );
    },

    async listCheckpoints(query: CheckpointQuery = {}) {
      const reverse = (query.order ?? 'desc') === 'desc';
      const limit = query.limit ?? Number.POSITIVE_INFINITY;
      const tags = query.tags ?? [];
      const range =
        query.runId === undefined
          ? prefixRange(keys.checkpointTimes)
          : prefixRange(keys.checkpointSteps(query.runId));
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
      for (;;) {
        const metaText = await kv.get(keys.checkpointMeta(checkpointId));
        if (metaText === undefined) return false;
        const parsed = checkpointMetaSchema.safeParse(parseCheckpointJson(metaText, `'${checkpointId}'`));
        if (!parsed.success) {
          throw new AgentchartError({
            code: 'CHECKPOINT_INVALID',
            message: `The description of checkpoint '${checkpointId}' is not valid; it was left as it is`,
            details: { checkpointId },
          });
        }
        const meta = parsed.data;
        const writes: KeyValueWrite[] = [
          { type: 'del', key: keys.checkpointMeta(checkpointId) },
          { type: 'del', key: keys.checkpointBody(checkpointId) },
          { type: 'del', key: keys.checkpointStep(meta.runId, meta.stepNum) },
          { type: 'del', key: keys.checkpointTime(meta.savedAt, checkpointId) },
        ];
        const read = await readRun(meta.runId);
        const expected = [{ key: keys.checkpointMeta(checkpointId), value: metaText as string | undefined }];
        if (read !== undefined) expected.push({ key: keys.run(meta.runId), value: read.text });
        if (read?.record.headCheckpointId === checkpointId) {
          // The head moves back to the newest checkpoint before it, with that point's messages and status.
          const before = {
            gte: keys.checkpointSteps(meta.runId),
            lt: keys.checkpointStep(meta.runId, meta.stepNum),
            reverse: true,
            limit: 1,
          };
          let previous: CheckpointMeta | undefined;
          for await (const [, id] of kv.range(before)) [previous] = await readMetas([id]);
          const next: RunRecord = {
            ...read.record,
            headCheckpointId: previous?.id ?? null,
            stepNum: previous?.stepNum ?? -1,
            messageCount: previous?.messageCount ?? read.record.messageCount,
            status: previous?.status ?? read.record.status,
            version: read.record.version + 1,
            updatedAt: new Date().toISOString(),
          };
          // A log never changes a position it wrote (forks share it): a run that goes back goes on
          // in a new log, which starts from the messages of the checkpoint it went back to.
          let log = read.log;
          const back = previous === undefined ? undefined : await logOf(previous.id);
          if (back !== undefined && back.messageCount < read.record.messageCount) {
            log = `${meta.runId}~${next.version}`;
            writes.push(inheritanceWrite(log, { logId: back.log, count: back.messageCount }));
          }
          writes.push(...recordWrites(read.record, next, log));
        }
        // The description was read outside the batch: the checkpoint (or the run) may have moved meanwhile.
        lastWritten.delete(meta.runId);
        if (await kv.batchIf(expected, writes)) return true;
      }
    },

    async listForks(runId: string) {
      const prefix = keys.forks(runId);
      const forks: { runId: string; forkOf: string }[] = [];
      for await (const [key, forkOf] of kv.range(prefixRange(prefix))) {
        forks.push({ runId: key.slice(prefix.length), forkOf });
      }
      return forks;
    },
  };
}

/** A run record as read, with the fields older stores did not write filled in. */
function recordOf(stored: RunRecord): RunRecord {
  const { lastStepNum, epoch } = stored as Partial<RunRecord>;
  return lastStepNum === undefined || epoch === undefined
    ? { ...stored, lastStepNum: lastStepNum ?? stored.stepNum, epoch: epoch ?? 0 }
    : stored;
}
