import { AgentchartError } from '../../agentchart-error.js';
import type { Message } from '../../model/message.js';
import { parseCheckpointJson } from '../checkpoint-envelope.js';
import { type ContentBlob, loadedMessage, type StoredMessage, storedMessage } from '../content-blobs.js';
import { keys } from './key-layout.js';
import type { KeyValue, KeyValueWrite } from './key-value.js';
import type { KeyValueBlobs } from './key-value-blobs.js';

/** Where a message log starts: the first `count` messages of log `logId`. */
export interface LogInheritance {
  logId: string;
  count: number;
}

/**
 * The message logs of a store on a key-value space. A log keeps a run's messages by position (role
 * and block hashes; the blocks are content blobs), and may start from the first messages of
 * another log (a fork shares its past instead of copying it). A log never changes a position it
 * wrote: a run whose newest checkpoints were deleted goes on in a new log that starts from the old.
 */
export interface KeyValueMessages {
  readonly blobs: KeyValueBlobs;
  /** Writes for the messages from `from` on (into log `logId`), and the blobs they need. */
  messageWrites(
    logId: string,
    messages: readonly Message[],
    from: number,
  ): Promise<{ writes: KeyValueWrite[]; blobs: ContentBlob[] }>;
  /** The write that makes log `logId` start from another log. */
  inheritanceWrite(logId: string, inherits: LogInheritance): KeyValueWrite;
  /** The first `count` messages of log `logId`; `CHECKPOINT_CORRUPT` (naming `source`) if some are missing. */
  readMessages(logId: string, count: number, source: string): Promise<Message[]>;
}

/** Creates the {@link KeyValueMessages} of a store. */
export function keyValueMessages(kv: KeyValue, blobs: KeyValueBlobs): KeyValueMessages {
  /** The stored messages of positions [0, count) of a log, following what it inherits. */
  async function storedMessages(logId: string, count: number, source: string): Promise<StoredMessage[]> {
    if (count === 0) return [];
    const inheritsText = await kv.get(keys.messageLogInherits(logId));
    const inherits =
      inheritsText === undefined ? undefined : (parseCheckpointJson(inheritsText, source) as LogInheritance);
    const shared = Math.min(inherits?.count ?? 0, count);
    const prefix =
      inherits === undefined || shared === 0 ? [] : await storedMessages(inherits.logId, shared, source);
    const own: StoredMessage[] = [];
    for await (const [, text] of kv.range({
      gte: keys.messageLog(logId, shared),
      lt: keys.messageLog(logId, count),
    }))
      own.push(parseCheckpointJson(text, source) as StoredMessage);
    return [...prefix, ...own];
  }

  return {
    blobs,
    async messageWrites(logId, messages, from) {
      const writes: KeyValueWrite[] = [];
      const needed: ContentBlob[] = [];
      for (const [offset, message] of messages.slice(from).entries()) {
        const { stored, blobs: messageBlobs } = storedMessage(message);
        needed.push(...messageBlobs);
        writes.push({
          type: 'put',
          key: keys.messageLog(logId, from + offset),
          value: JSON.stringify(stored),
        });
      }
      return { writes: [...blobs.writesFor(needed), ...writes], blobs: needed };
    },
    inheritanceWrite: (logId, inherits) => ({
      type: 'put',
      key: keys.messageLogInherits(logId),
      value: JSON.stringify(inherits),
    }),
    async readMessages(logId, count, source) {
      const stored = await storedMessages(logId, count, source);
      if (stored.length !== count) {
        throw new AgentchartError({
          code: 'CHECKPOINT_CORRUPT',
          message: `The checkpoint ${source} is corrupt: ${count - stored.length} of its ${count} messages are missing`,
          details: { source },
        });
      }
      const blocks = await blobs
        .read(
          stored.flatMap((message) => message.blocks),
          `The checkpoint ${source}`,
        )
        .catch((error: unknown) => {
          throw new AgentchartError({
            code: 'CHECKPOINT_CORRUPT',
            message: `The checkpoint ${source} is corrupt: ${(error as Error).message}`,
            details: { source },
            cause: error,
          });
        });
      return stored.map((message) => loadedMessage(message, blocks));
    },
  };
}
