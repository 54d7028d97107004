import type { ToolResultBlock } from '../model/message.js';

/** Who writes: the owner epoch of the run as the writer took it (see `RunStore.claimRun`). */
export interface WriterEpoch {
  /** Refuse the write with `CONCURRENCY` if the run's owner epoch is no longer this one. */
  epoch?: number;
}

/** The role of a store that keeps the journal of tool calls: a result recorded here is never executed again for that run. */
export interface JournalStore {
  getToolResult(runId: string, toolCallId: string): Promise<ToolResultBlock | undefined>;
  /** Records a tool call's result (its output stored once, as a content blob). */
  putToolResult(runId: string, result: ToolResultBlock, options?: WriterEpoch): Promise<void>;
}
