import type { AgentRunContext } from '../machines/agent-run-types.js';
import type { SessionStore } from '../persistence/session-store.js';
import type { RunResult } from '../run-result.js';
import type { RunHandle } from '../runtime/run/run-handle.js';
import { commitSessionRun, leftUnended, type SessionCommitOutcome } from './session.js';

/** The commits of a runtime's session runs: made as each run ends, and awaited by `session.run`. */
export interface SessionCommits {
  /** Commits a run that ended, if it belongs to a session (told of every run that ends). */
  commitIfSession(result: RunResult, context: AgentRunContext): Promise<void>;
  /**
   * Resolves with the commit of a run of a session when it ends; rejects with `RUN_DETACHED` if the
   * run leaves this runtime before it ends.
   */
  commitOf(run: RunHandle): Promise<SessionCommitOutcome>;
}

/** Creates the {@link SessionCommits} of a runtime whose store is `store()`. */
export function createSessionCommits(store: () => Promise<SessionStore>): SessionCommits {
  const waiters = new Map<
    string,
    { resolve(outcome: SessionCommitOutcome): void; reject(error: unknown): void }
  >();
  return {
    async commitIfSession(result, context) {
      if (context.session === undefined) return;
      const waiter = waiters.get(result.runId);
      waiters.delete(result.runId);
      try {
        const outcome = await commitSessionRun(await store(), result, context);
        waiter?.resolve(outcome);
      } catch (error) {
        waiter?.reject(error);
      }
    },
    commitOf: (run) =>
      new Promise<SessionCommitOutcome>((resolve, reject) => {
        const waiter = { resolve, reject };
        waiters.set(run.id, waiter);
        // A run that ends commits before its result resolves; one still waiting then left unended.
        void run.result.then((result) => {
          if (waiters.get(run.id) !== waiter) return;
          waiters.delete(run.id);
          reject(leftUnended(result));
        });
      }),
  };
}
