import type { AgentRunContext } from '../machines/agent-run-types.js';
import type { ToolResultBlock } from '../model/message.js';

/** Where one tool call of a live run is: running, or returned with a result the statechart has not recorded yet. */
export type ToolCallEntry =
  | { status: 'running'; settled: Promise<ToolResultBlock | undefined> }
  | { status: 'returned'; result: ToolResultBlock };

/**
 * The tool calls of one live run that the statechart has not recorded yet. A call's result is
 * written to the journal as the call returns, then kept here until the statechart has it in its
 * context (`forgetRecorded`), whatever happens meanwhile: a `toolCalls` actor stopped by a pause
 * before it could report, a pause during a pause's resume, a run left parked. So a result is
 * always in the journal, and also here or in the context: never lost, never run twice.
 */
export interface ToolLedger {
  get(toolCallId: string): ToolCallEntry | undefined;
  /**
   * Runs a call and keeps it as running until it settles: returned (kept with its result) or
   * abandoned (undefined: it was aborted, and may run again, with the same idempotency key).
   */
  run(
    toolCallId: string,
    execute: () => Promise<ToolResultBlock | undefined>,
  ): Promise<ToolResultBlock | undefined>;
  /** Keeps a result found elsewhere (the journal) until the statechart records it. */
  keep(result: ToolResultBlock): void;
  /** Forgets the results the context holds (in `toolResults`), or that its turn left behind. */
  forgetRecorded(context: AgentRunContext): void;
  /** How many calls are running. */
  readonly running: number;
  /** Resolves when no call is running (those started meanwhile included). */
  settled(): Promise<void>;
}

/** Creates the {@link ToolLedger} of a run. */
export function createToolLedger(): ToolLedger {
  const entries = new Map<string, ToolCallEntry>();
  let running = 0;
  let idle: Promise<void> | undefined;
  let wake: () => void = () => {};

  return {
    get: (toolCallId) => entries.get(toolCallId),
    run(toolCallId, execute) {
      running++;
      const settled = execute().finally(() => {
        running--;
        if (running === 0) {
          idle = undefined;
          wake();
        }
      });
      entries.set(toolCallId, { status: 'running', settled });
      void settled.then(
        (result) => {
          if (entries.get(toolCallId)?.status !== 'running') return;
          if (result === undefined) entries.delete(toolCallId);
          else entries.set(toolCallId, { status: 'returned', result });
        },
        () => entries.delete(toolCallId),
      );
      return settled;
    },
    keep(result) {
      if (!entries.has(result.toolCallId)) entries.set(result.toolCallId, { status: 'returned', result });
    },
    forgetRecorded(context) {
      if (entries.size === 0) return;
      const pending = new Set(context.pendingToolCalls.map((call) => call.toolCallId));
      const recorded = new Set(context.toolResults.map((result) => result.toolCallId));
      for (const [toolCallId, entry] of entries) {
        if (entry.status === 'returned' && (recorded.has(toolCallId) || !pending.has(toolCallId)))
          entries.delete(toolCallId);
      }
    },
    get running() {
      return running;
    },
    settled() {
      if (running === 0) return Promise.resolve();
      idle ??= new Promise<void>((resolve) => {
        wake = resolve;
      });
      return idle;
    },
  };
}
