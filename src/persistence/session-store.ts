import type { Message } from '../model/message.js';

/** A session as the store knows it: its version (bumped by each commit) and how many messages it holds. */
export interface SessionRecord {
  sessionId: string;
  version: number;
  messageCount: number;
  createdAt: string;
  updatedAt: string;
}

/** A message of a session: what was said, by which run, and when. */
export interface SessionMessage extends Message {
  runId: string;
  at: string;
}

/** The messages a run adds to its session, and the session version it started from. */
export interface SessionCommit {
  runId: string;
  messages: readonly SessionMessage[];
  expectedVersion: number;
}

/** The role of a store that keeps sessions: conversations over many runs, committed with compare-and-set. */
export interface SessionStore {
  /** A session, or undefined before its first commit. */
  getSession(sessionId: string): Promise<SessionRecord | undefined>;
  /** A session's messages from index `from` (default 0) on, oldest first. */
  readSessionMessages(sessionId: string, from?: number): Promise<SessionMessage[]>;
  /**
   * Appends a run's messages to a session, atomically, if the session is still at
   * `expectedVersion` (0 for a new session); `ConcurrencyError` otherwise, and nothing is written.
   * A run commits once: committing the same run again changes nothing and returns the record.
   */
  commitToSession(sessionId: string, commit: SessionCommit): Promise<SessionRecord>;
}
