import { ConcurrencyError } from '../../agentchart-error.js';
import { parseCheckpointJson } from '../checkpoint-envelope.js';
import type { SessionCommit, SessionMessage, SessionRecord, SessionStore } from '../session-store.js';
import { keys, prefixRange } from './key-layout.js';
import type { KeyValue, KeyValueWrite } from './key-value.js';

/** The session role of a store on a key-value space: a session's record, its messages by position, and the runs that committed. */
export function keyValueSessions(kv: KeyValue): SessionStore {
  const store: SessionStore = {
    async getSession(sessionId: string) {
      const text = await kv.get(keys.session(sessionId));
      return text === undefined
        ? undefined
        : (parseCheckpointJson(text, `session '${sessionId}'`) as SessionRecord);
    },

    async readSessionMessages(sessionId: string, from = 0) {
      const messages: SessionMessage[] = [];
      const range = {
        ...prefixRange(keys.sessionMessages(sessionId)),
        gte: keys.sessionMessage(sessionId, from),
      };
      for await (const [, text] of kv.range(range)) {
        messages.push(parseCheckpointJson(text, `a message of session '${sessionId}'`) as SessionMessage);
      }
      return messages;
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
      const writes: KeyValueWrite[] = [
        ...commit.messages.map((message, offset) => ({
          type: 'put' as const,
          key: keys.sessionMessage(sessionId, record.messageCount + offset),
          value: JSON.stringify(message),
        })),
        { type: 'put', key: keys.session(sessionId), value: JSON.stringify(next) },
        { type: 'put', key: keys.sessionCommit(sessionId, commit.runId), value: String(next.version) },
      ];
      const expected = [
        { key: keys.session(sessionId), value: recordText },
        { key: keys.sessionCommit(sessionId, commit.runId), value: undefined },
      ];
      if (await kv.batchIf(expected, writes)) return next;
      // Moved meanwhile: the same run committed (a no-op), or another run did (a conflict).
      return store.commitToSession(sessionId, commit);
    },
  };
  return store;
}
