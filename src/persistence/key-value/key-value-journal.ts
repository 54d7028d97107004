import { AgentchartError } from '../../agentchart-error.js';
import type { ToolResultBlock } from '../../model/message.js';
import { parseCheckpointJson } from '../checkpoint-envelope.js';
import { type StoredToolResult, storedToolResult } from '../content-blobs.js';
import type { JournalStore } from '../journal-store.js';
import { keys } from './key-layout.js';
import type { KeyValue } from './key-value.js';
import type { KeyValueBlobs } from './key-value-blobs.js';
import { assertEpoch, epochExpected } from './key-value-epoch.js';

/**
 * The journal role of a store on a key-value space: each tool result under its run and tool-call
 * id, as the hash of its result block (a content blob the run's messages share).
 */
export function keyValueJournal(kv: KeyValue, blobs: KeyValueBlobs): JournalStore {
  return {
    async getToolResult(runId, toolCallId) {
      const text = await kv.get(keys.toolResult(runId, toolCallId));
      if (text === undefined) return undefined;
      const stored = parseCheckpointJson(text, `journal entry '${toolCallId}'`) as
        | StoredToolResult
        | ToolResultBlock;
      // Journals written before blobs held the result itself.
      if (!('block' in stored)) return stored;
      const blocks = await blobs.read([stored.block], `The journal entry '${toolCallId}' of run '${runId}'`);
      const result = blocks.get(stored.block);
      if (result?.type !== 'tool-result') {
        throw new AgentchartError({
          code: 'STORE_CORRUPT',
          message: `The journal entry '${toolCallId}' of run '${runId}' refers to a block that is not a tool result`,
        });
      }
      return result;
    },

    async putToolResult(runId, result, options = {}) {
      const { stored, blob } = storedToolResult(result);
      const writes = [
        ...blobs.writesFor([blob]),
        {
          type: 'put' as const,
          key: keys.toolResult(runId, result.toolCallId),
          value: JSON.stringify(stored),
        },
      ];
      // Refused only if the run was taken over (assertEpoch throws); tried again if the epoch merely moved under us.
      while (!(await kv.batchIf(epochExpected(runId, options.epoch), writes)))
        await assertEpoch(kv, runId, options.epoch);
      blobs.stored([blob]);
    },
  };
}
