import { ConcurrencyError } from '../../agentchart-error.js';
import { parseCheckpointJson } from '../checkpoint-envelope.js';
import { type ContentBlob, loadedMessage, type StoredMessage, storedMessage } from '../content-blobs.js';
import type { SessionCommit, SessionMessage, SessionRecord, SessionStore } from '../session-store.js';
import { keys, prefixRange } from './key-layout.js';
import type { KeyValue, KeyValueWrite } from './key-value.js';
import type { KeyValueBlobs } from './key-value-blobs.js';

/** A session message as the space keeps it: the stored message (block hashes), its run and time. */
type StoredSessionMessage = StoredMessage & Pick<SessionMessage, 'runId' | 'at'>;

/**
 * The session role of a store on a key-value space: a session's record, its messages by position
 * (their blocks as content blobs the runs' messages share), and the runs that committed.
 */
export function keyValueSessions(kv: KeyValue, blobs: KeyValueBlobs): SessionStore {
  const store: SessionStore = {
    async getSession(sessionId: string) {
      const text = await kv.get(keys.session(sessionId));
      return text === undefined
        ? undefined
        : (parseCheckpointJson(text, `session '${sessionId}'`) as SessionRecord);
    },

    async readSessionMessages(sessionId: string, from = 0) {
      const stored: StoredSessionMessage[] = [];
      const range = {
        ...prefixRange(keys.sessionMessages(sessionId)),
        gte: keys.sessionMessage(sessionId, from),
      };
      for await (const [, text] of kv.range(range)) {
        stored.push(parseCheckpointJson(text, `a message of session '${sessionId}'`) as StoredSessionMessage);
      }
      // Sessions written before blobs held their messages whole.
      const hashes = stored.flatMap((message) => message.blocks ?? []);
      const blocks = hashes.length === 0 ? new Map() : await blobs.read(hashes, `Session '${sessionId}'`);
      return stored.map(
        (message): SessionMessage =>
          message.blocks === undefined
            ? (message as unknown as SessionMessage)
            : { ...loadedMessage(message, blocks), runId: message.runId, at: message.at },
      );
    },

    async commitToSession(sessionId: string, commit: SessionCommit) {
      const [recordText, committed] = await kv.getMany([
        keys.session(sessionId),
        keys.sessionCommit(sessionId, commit.runId),
      ]);
      const now = new Date().toISOString();
      const record: SessionRecord =
        recordText === undefined
          ? { sessionId, version: 0, messageCount: 0, createdAt: now, updatedAt: now }
          : (parseCheckpointJson(recordText, `session '${sessionId}'`) as SessionRecord);
      if (committed !== undefined) return record;
      const conflict = (actualVersion: number) =>
        new ConcurrencyError({
          message: `Session '${sessionId}' is at version ${actualVersion}, not ${commit.expectedVersion}: another run committed to it first`,
          expectedVersion: commit.expectedVersion,
          actualVersion,
          details: { sessionId, runId: commit.runId },
        });
      if (record.version !== commit.expectedVersion) throw conflict(record.version);
      const next: SessionRecord = {
        ...record,
        version: record.version + 1,
        messageCount: record.messageCount + commit.messages.length,
        updatedAt: now,
      };
      const needed: ContentBlob[] = [];
      const messageWrites = commit.messages.map((message, offset) => {
        const { stored, blobs: messageBlobs } = storedMessage(message);
        needed.push(...messageBlobs);
        const value: StoredSessionMessage = { ...stored, runId: message.runId, at: message.at };
        return {
          type: 'put' as const,
          key: keys.sessionMessage(sessionId, record.messageCount + offset),
          value: JSON.stringify(value),
        };
      });
      const writes: KeyValueWrite[] = [
        ...blobs.writesFor(needed),
        ...messageWrites,
        { type: 'put', key: keys.session(sessionId), value: JSON.stringify(next) },
        { type: 'put', key: keys.sessionCommit(sessionId, commit.runId), value: String(next.version) },
      ];
      const expected = [
        { key: keys.session(sessionId), value: recordText },
        { key: keys.sessionCommit(sessionId, commit.runId), value: undefined },
      ];
      if (await kv.batchIf(expected, writes)) {
        blobs.stored(needed);
        return next;
      }
      // Moved meanwhile: the same run committed (a no-op), or another run did (a conflict).
      return store.commitToSession(sessionId, commit);
    },
  };
  return store;
}
