import type { ToolResultBlock } from '../../model/message.js';
import { parseCheckpointJson } from '../checkpoint-envelope.js';
import type { JournalStore } from '../journal-store.js';
import { keys } from './key-layout.js';
import type { KeyValue } from './key-value.js';

/** The journal role of a store on a key-value space: each tool result under its run and tool-call id. */
export function keyValueJournal(kv: KeyValue): JournalStore {
  return {
    async getToolResult(runId: string, toolCallId: string) {
      const text = await kv.get(keys.toolResult(runId, toolCallId));
      return text === undefined
        ? undefined
        : (parseCheckpointJson(text, `journal entry '${toolCallId}'`) as ToolResultBlock);
    },

    putToolResult: (runId: string, result: ToolResultBlock) =>
      kv.batch([
        { type: 'put', key: keys.toolResult(runId, result.toolCallId), value: JSON.stringify(result) },
      ]),
  };
}
