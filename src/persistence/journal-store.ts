import type { ToolResultBlock } from '../model/message.js';

/** The role of a store that keeps the journal of tool calls: a result recorded here is never executed again for that run. */
export interface JournalStore {
  getToolResult(runId: string, toolCallId: string): Promise<ToolResultBlock | undefined>;
  putToolResult(runId: string, result: ToolResultBlock): Promise<void>;
}
