import { createHash } from 'node:crypto';
import { AgentchartError } from '../../agentchart-error.js';
import type { Message } from '../../model/message.js';
import { parseCheckpointJson } from '../checkpoint-envelope.js';
import { keys } from './key-layout.js';
import type { KeyValue, KeyValueWrite } from './key-value.js';

/**
 * The messages of runs on a key-value space: each message stored once, under the SHA-256 of its
 * JSON (a blob), and each run's log of message hashes by position.
 */
export interface KeyValueMessages {
  /** The hashes of message objects read or written here: their blobs are stored (blobs are never deleted). */
  readonly storedHashes: WeakMap<Message, string>;
  /** Writes for the messages from `from` on: their blobs (unless known to be stored) and log entries. */
  messageWrites(
    runId: string,
    messages: readonly Message[],
    from: number,
    skipKnownBlobs: boolean,
  ): Promise<KeyValueWrite[]>;
  /** The first `count` messages of a run's log, and their hashes; `CHECKPOINT_CORRUPT` if some are missing. */
  readMessages(
    runId: string,
    count: number,
    source: string,
  ): Promise<{ messages: Message[]; hashes: string[] }>;
}

/** Creates the {@link KeyValueMessages} of a store. */
export function keyValueMessages(kv: KeyValue): KeyValueMessages {
  const storedHashes = new WeakMap<Message, string>();

  /** Writes for the messages from `from` on: their blobs (unless stored already) and log entries. */
  async function messageWrites(
    runId: string,
    messages: readonly Message[],
    from: number,
    skipKnownBlobs: boolean,
  ) {
    const writes: KeyValueWrite[] = [];
    // Messages this store read or wrote have their hash (and blob) known already: no hashing, no lookup.
    const fresh = messages.slice(from).map((message) => {
      const hash = storedHashes.get(message);
      if (hash !== undefined) return { json: undefined, hash };
      const json = JSON.stringify(message);
      return { json, hash: createHash('sha256').update(json).digest('base64url') };
    });
    const unknown = fresh.filter(({ json }) => json !== undefined);
    const existing = skipKnownBlobs ? await kv.getMany(unknown.map(({ hash }) => keys.blob(hash))) : [];
    const present = new Set(
      unknown.filter((_, index) => existing[index] !== undefined).map(({ hash }) => hash),
    );
    for (const [offset, { json, hash }] of fresh.entries()) {
      if (json !== undefined && !present.has(hash))
        writes.push({ type: 'put', key: keys.blob(hash), value: json });
      writes.push({ type: 'put', key: keys.messageLog(runId, from + offset), value: hash });
    }
    return writes;
  }

  async function readMessages(
    runId: string,
    count: number,
    source: string,
  ): Promise<{ messages: Message[]; hashes: string[] }> {
    if (count === 0) return { messages: [], hashes: [] };
    const hashes: string[] = [];
    for await (const [, hash] of kv.range({
      gte: keys.messageLog(runId, 0),
      lt: keys.messageLog(runId, count),
    }))
      hashes.push(hash);
    const blobs = hashes.length === count ? await kv.getMany(hashes.map(keys.blob)) : [];
    if (blobs.length !== count || blobs.some((blob) => blob === undefined)) {
      throw new AgentchartError({
        code: 'CHECKPOINT_CORRUPT',
        message: `The checkpoint ${source} is corrupt: ${count - blobs.filter(Boolean).length} of its ${count} messages are missing`,
        details: { source },
      });
    }
    const messages = blobs.map(
      (blob, index) => parseCheckpointJson(blob as string, `${source} (message ${index})`) as Message,
    );
    return { messages, hashes };
  }

  return { storedHashes, messageWrites, readMessages };
}
