import { z } from 'zod';
import { AgentchartError, ConcurrencyError } from '../agentchart-error.js';
import type { AgentRunContext } from '../machines/agent-run-types.js';
import { messageOf } from '../message-of.js';
import type { Message } from '../model/message.js';
import { parseOptions } from '../parse-options.js';
import type { SessionMessage, SessionStore } from '../persistence/session-store.js';
import type { RunResult } from '../run-result.js';
import type { CancelToken } from '../runtime/run/cancel-token.js';
import type { RunHandle } from '../runtime/run/run-handle.js';

/** What `runtime.session` takes. */
export interface SessionOptions {
  /** Most messages of history a run of the session sees (the newest; cut so that it starts cleanly). */
  maxHistory?: number;
  /** Most tokens of history a run sees, estimated at four characters a token. */
  maxHistoryTokens?: number;
}

/** What `session.run` takes. */
export interface SessionRunOptions {
  runId?: string;
  signal?: AbortSignal | CancelToken;
  timeoutMs?: number;
  /**
   * When another run committed to the session first: `fail` (default) rejects `committed` with a
   * `ConcurrencyError`; `retry` reloads the session and runs the input again on the new history.
   */
  onConflict?: 'fail' | 'retry';
  /** With `onConflict: 'retry'`, the most runs in all. Default 3. */
  maxAttempts?: number;
}

/** How a session run's messages were committed. */
export interface SessionCommitOutcome {
  /** The session's version after the commit. */
  version: number;
  /** The run that committed (with `retry`, the last one). */
  runId: string;
  result: RunResult;
  attempts: number;
}

/** A run of a session: its handle, and the commit of its messages to the session. */
export interface SessionRun extends RunHandle {
  /**
   * Resolves when the run has ended and its new messages are in the session. Rejects with a
   * `ConcurrencyError` if another run committed first (its messages stay in its checkpoints, and the
   * session is unchanged), with `RUN_ENDED` if the run did not succeed (nothing is committed), or
   * with `RUN_DETACHED` if it left this runtime before it ended (the runtime closed while it was
   * paused or waiting; it commits when it ends, in whichever process resumes it).
   */
  readonly committed: Promise<SessionCommitOutcome>;
}

/** A conversation with a user over many runs, one per user message. */
export interface Session {
  readonly id: string;
  /** The version the session was at when loaded (or last committed through this object). */
  readonly version: number;
  /** The history the next run begins with, bounded by `maxHistory` and `maxHistoryTokens`. */
  readonly history: readonly SessionMessage[];
  /** Every message of the session, oldest first. */
  readonly messages: readonly SessionMessage[];
  /** Starts a run whose conversation begins with the history; its messages are committed when it ends. */
  run(input: string, options?: SessionRunOptions): Promise<SessionRun>;
  /** Loads the session again from the store. */
  reload(): Promise<void>;
}

/** What a session needs of its runtime. */
export interface SessionHost {
  store(): Promise<SessionStore>;
  /** Starts a run of the session: history, then the user's input. */
  startSessionRun(options: {
    input: string;
    history: readonly Message[];
    session: { sessionId: string; version: number };
    runId?: string;
    signal?: AbortSignal | CancelToken;
    timeoutMs?: number;
  }): RunHandle;
  /**
   * Resolves with the commit of a run of a session when it ends (see {@link commitSessionRun});
   * rejects with {@link leftUnended} if the run leaves this runtime before it ends.
   */
  commitOf(run: RunHandle): Promise<SessionCommitOutcome>;
}

const sessionId = /^[\w.:-]{1,128}$/;
const positiveInteger = z.number().int().positive().optional();
const sessionOptionsSchema = z.strictObject({
  maxHistory: positiveInteger,
  maxHistoryTokens: positiveInteger,
});
const sessionRunOptionsSchema = z.strictObject({
  runId: z.string().optional(),
  signal: z.unknown().optional(),
  timeoutMs: z.number().positive().optional(),
  onConflict: z.enum(['fail', 'retry']).optional(),
  maxAttempts: positiveInteger,
});

/** Loads a session (a new one has version 0 and no history). */
export async function openSession(
  host: SessionHost,
  id: string,
  options: SessionOptions = {},
): Promise<Session> {
  if (typeof id !== 'string' || !sessionId.test(id)) {
    throw new AgentchartError({
      code: 'INVALID_ARGUMENT',
      message: `A session id must be a string of 1 to 128 letters, digits, or _ . : -, got ${messageOf(id)}`,
      details: { sessionId: id },
    });
  }
  parseOptions('runtime.session options', sessionOptionsSchema, options ?? {});
  let version = 0;
  let messages: SessionMessage[] = [];
  let history: SessionMessage[] = [];
  const reload = async () => {
    const store = await host.store();
    version = (await store.getSession(id))?.version ?? 0;
    messages = await store.readSessionMessages(id);
    history = boundHistory(messages, options);
  };
  await reload();

  const attempt = (input: string, runOptions: SessionRunOptions, runId?: string) =>
    host.startSessionRun({
      input,
      history,
      session: { sessionId: id, version },
      ...(runId === undefined ? {} : { runId }),
      ...(runOptions.signal === undefined ? {} : { signal: runOptions.signal }),
      ...(runOptions.timeoutMs === undefined ? {} : { timeoutMs: runOptions.timeoutMs }),
    });

  const session: Session = {
    id,
    get version() {
      return version;
    },
    get history() {
      return history;
    },
    get messages() {
      return messages;
    },
    reload,
    async run(input, runOptions = {}) {
      parseOptions('session.run options', sessionRunOptionsSchema, runOptions ?? {});
      const first = attempt(input, runOptions, runOptions.runId);
      const maxAttempts = runOptions.onConflict === 'retry' ? (runOptions.maxAttempts ?? 3) : 1;
      const committed = (async () => {
        let handle = first;
        for (let attempts = 1; ; attempts++) {
          try {
            const outcome = await host.commitOf(handle);
            await reload();
            return { ...outcome, attempts };
          } catch (error) {
            if (!(error instanceof ConcurrencyError) || attempts >= maxAttempts) throw error;
            // Another run got there first: run the input again on the history as it is now.
            await reload();
            handle = attempt(input, runOptions);
          }
        }
      })();
      committed.catch(() => {});
      return { ...first, committed };
    },
  };
  return session;
}

/** The error for a run of a session that left this process before it ended (closed, unloaded). */
export function leftUnended(result: RunResult): AgentchartError {
  return new AgentchartError({
    code: 'RUN_DETACHED',
    message: `Run '${result.runId}' left this runtime ${result.status} before it ended; it commits to its session when it ends, in whichever process resumes it`,
    details: { runId: result.runId, status: result.status },
  });
}

/**
 * Commits what a run of a session added (its messages after the history it began with) to the
 * session, on the version it started from. Called by the runtime when the run ends, in whatever
 * process that is; the store makes a second commit of one run a no-op.
 */
export async function commitSessionRun(
  store: SessionStore,
  result: RunResult,
  context: AgentRunContext,
): Promise<SessionCommitOutcome> {
  const link = context.session;
  if (link === undefined)
    throw new AgentchartError({
      code: 'INVALID_ARGUMENT',
      message: `Run '${result.runId}' belongs to no session`,
    });
  if (result.status !== 'done') {
    throw new AgentchartError({
      code: 'RUN_ENDED',
      message: `Run '${result.runId}' ended ${result.status}; nothing was committed to session '${link.sessionId}'`,
      details: { runId: result.runId, status: result.status, error: result.error },
    });
  }
  const at = new Date().toISOString();
  const messages = context.messages
    .slice(link.historyLength)
    .map((message) => ({ ...message, runId: result.runId, at }));
  const record = await store.commitToSession(link.sessionId, {
    runId: result.runId,
    messages,
    expectedVersion: link.version,
  });
  return { version: record.version, runId: result.runId, result, attempts: 1 };
}

/**
 * The newest messages within the bounds, cut so that the history starts with a user's own message:
 * never with an orphaned tool result, never between a tool call and its result.
 */
export function boundHistory<T extends Message>(
  messages: readonly T[],
  { maxHistory, maxHistoryTokens }: SessionOptions,
): T[] {
  let start = maxHistory === undefined ? 0 : Math.max(0, messages.length - maxHistory);
  if (maxHistoryTokens !== undefined) {
    let tokens = 0;
    let index = messages.length;
    while (index > start) {
      const cost = Math.ceil(JSON.stringify((messages[index - 1] as T).content).length / 4);
      if (tokens + cost > maxHistoryTokens) break;
      tokens += cost;
      index--;
    }
    start = index;
  }
  while (start < messages.length && !startsCleanly(messages[start] as T)) start++;
  return messages.slice(start);
}

/** A user message with text of its own (not only the results of tool calls). */
function startsCleanly(message: Message): boolean {
  return message.role === 'user' && message.content.some((block) => block.type === 'text');
}
