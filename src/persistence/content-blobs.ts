import { createHash } from 'node:crypto';
import { deepFreeze } from '../deep-freeze.js';
import type { ContentBlock, Message, ToolResultBlock } from '../model/message.js';
import type { RunEvent } from '../streaming/run-event.js';
import type { StoredRunEvent } from './event-log-store.js';

/**
 * A content block as a store keeps it: its JSON, once, under the SHA-256 of that JSON. Messages,
 * the tool journal, the event log and sessions refer to blocks by hash, so each byte a run makes
 * (a tool's output, a text the model wrote) is stored once, whoever wrote it first.
 */
export interface ContentBlob {
  hash: string;
  json: string;
}

/** A message as a store keeps it: its role and the hashes of its blocks. */
export interface StoredMessage {
  role: Message['role'];
  blocks: string[];
}

/** A journal entry: the hash of the tool-result block. */
export interface StoredToolResult {
  block: string;
}

/**
 * A logged event as a store keeps it: the event without its payload (a tool's output, a block of
 * text, a tool call's input), which lives in a content blob under `block`.
 */
export interface StoredEventRecord extends Omit<StoredRunEvent, 'event'> {
  event: Record<string, unknown>;
  block?: string;
}

/**
 * The hashes of blocks this process has worked out, by block object. Blocks are frozen when they
 * are read from a store and are never changed in a run, so an object's hash never goes stale;
 * held weakly, it goes with the object.
 */
const hashes = new WeakMap<object, string>();

/**
 * The blob of a content block (its hash worked out once per object). The JSON of a block whose
 * hash is known is made only if it is read: a run's tool result is hashed when it is journaled,
 * and its checkpoint needs only the hash, since the journal stored the blob.
 */
export function contentBlob(block: ContentBlock): ContentBlob {
  const known = hashes.get(block);
  if (known !== undefined) return new LazyBlob(known, block);
  const json = JSON.stringify(block);
  const hash = createHash('sha256').update(json).digest('base64url');
  hashes.set(block, hash);
  return { hash, json };
}

/** A blob whose JSON is made when it is first read. */
class LazyBlob implements ContentBlob {
  #json: string | undefined;
  constructor(
    readonly hash: string,
    private readonly block: ContentBlock,
  ) {}
  get json(): string {
    this.#json ??= JSON.stringify(this.block);
    return this.#json;
  }
}

/** The hash of a content block, without keeping its JSON. */
export function blockHash(block: ContentBlock): string {
  return hashes.get(block) ?? contentBlob(block).hash;
}

/** A message as stored, and the blobs of its blocks. */
export function storedMessage(message: Message): { stored: StoredMessage; blobs: ContentBlob[] } {
  const blobs = message.content.map(contentBlob);
  return { stored: { role: message.role, blocks: blobs.map((blob) => blob.hash) }, blobs };
}

/** A stored message with its blocks put back (`blocks` gives each block by hash, frozen). */
export function loadedMessage(stored: StoredMessage, blocks: ReadonlyMap<string, ContentBlock>): Message {
  return { role: stored.role, content: stored.blocks.map((hash) => blockOf(blocks, hash)) };
}

/** A journal entry and the blob of its result. */
export function storedToolResult(result: ToolResultBlock): { stored: StoredToolResult; blob: ContentBlob } {
  const blob = contentBlob(result);
  return { stored: { block: blob.hash }, blob };
}

/** The block of a logged event's payload, if it has one worth keeping once (see {@link StoredEventRecord}). */
function payloadOf(event: RunEvent): { block: ContentBlock; field: 'output' | 'text' | 'input' } | undefined {
  switch (event.type) {
    case 'tool-result': {
      const { toolCallId, toolName, output } = event;
      return {
        block: { type: 'tool-result', toolCallId, toolName, output, isError: false },
        field: 'output',
      };
    }
    case 'text-delta':
      return { block: { type: 'text', text: event.text }, field: 'text' };
    case 'tool-call': {
      const { toolCallId, toolName, input } = event;
      return { block: { type: 'tool-call', toolCallId, toolName, input }, field: 'input' };
    }
    default:
      return undefined;
  }
}

/** A logged event as stored, and the blob of its payload. */
export function storedEvent(stored: StoredRunEvent): { record: StoredEventRecord; blobs: ContentBlob[] } {
  const payload = payloadOf(stored.event);
  if (payload === undefined) return { record: { ...stored, event: { ...stored.event } }, blobs: [] };
  const { [payload.field]: _, ...event } = stored.event as unknown as Record<string, unknown>;
  const blob = contentBlob(payload.block);
  return { record: { ...stored, event, block: blob.hash }, blobs: [blob] };
}

/** A stored event with its payload put back. */
export function loadedEvent(
  record: StoredEventRecord,
  blocks: ReadonlyMap<string, ContentBlock>,
): StoredRunEvent {
  const { block, ...rest } = record;
  if (block === undefined) return rest as unknown as StoredRunEvent;
  const content = blockOf(blocks, block) as unknown as Record<string, unknown>;
  const field =
    record.event.type === 'tool-result' ? 'output' : record.event.type === 'tool-call' ? 'input' : 'text';
  return { ...rest, event: { ...record.event, [field]: content[field] } as unknown as RunEvent };
}

/** The block hashes a record refers to. */
export function blocksOf(record: StoredMessage | StoredToolResult | StoredEventRecord): string[] {
  if ('blocks' in record) return record.blocks;
  return record.block === undefined ? [] : [record.block];
}

/** Parses blobs into blocks by hash, remembering each block's hash (and freezing it, so the hash stays true). */
export function blocksByHash(
  hashesOf: readonly string[],
  jsons: readonly (string | undefined)[],
): Map<string, ContentBlock> {
  const blocks = new Map<string, ContentBlock>();
  for (const [index, hash] of hashesOf.entries()) {
    const json = jsons[index];
    if (json === undefined || blocks.has(hash)) continue;
    const block = deepFreeze(JSON.parse(json) as ContentBlock);
    hashes.set(block, hash);
    blocks.set(hash, block);
  }
  return blocks;
}

function blockOf(blocks: ReadonlyMap<string, ContentBlock>, hash: string): ContentBlock {
  const block = blocks.get(hash);
  if (block === undefined) throw new MissingBlobError(hash);
  return block;
}

/** A record refers to a blob the store does not hold. */
export class MissingBlobError extends Error {
  constructor(readonly hash: string) {
    super(`The content blob ${hash} is missing`);
  }
}
