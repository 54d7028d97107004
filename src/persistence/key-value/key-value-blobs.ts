import { AgentchartError } from '../../agentchart-error.js';
import type { ContentBlock } from '../../model/message.js';
import { blocksByHash, type ContentBlob } from '../content-blobs.js';
import { boundedMap } from './bounded-map.js';
import { keys } from './key-layout.js';
import type { KeyValue, KeyValueWrite } from './key-value.js';

/** The content blobs of a store on a key-value space: each block's JSON once, under its hash. */
export interface KeyValueBlobs {
  /**
   * The writes of the blobs not known to be stored. A blob is put without looking first: its key
   * is its content's hash, so a put of a blob the space holds already writes the same bytes again,
   * and new content (what nearly every write carries) would always miss the lookup.
   */
  writesFor(blobs: readonly ContentBlob[]): KeyValueWrite[];
  /** Tells that the blobs of a batch that succeeded are stored. */
  stored(blobs: readonly ContentBlob[]): void;
  /** The blocks of these hashes; `what` names the records they are read for (`STORE_CORRUPT` if one is missing). */
  read(hashes: readonly string[], what: string): Promise<Map<string, ContentBlock>>;
}

/**
 * Creates the {@link KeyValueBlobs} of a store, which remembers at most `rememberedHashes` hashes as
 * stored (blobs are never deleted, so a remembered one stays true).
 */
export function keyValueBlobs(kv: KeyValue, rememberedHashes: number): KeyValueBlobs {
  // Hashes known to be stored, oldest first, bounded: written or read by this store object.
  const known = boundedMap<true>(rememberedHashes);
  const remember = (hash: string) => {
    if (!known.has(hash)) known.set(hash, true);
  };
  return {
    writesFor(blobs) {
      const writes: KeyValueWrite[] = [];
      const seen = new Set<string>();
      for (const blob of blobs) {
        if (known.has(blob.hash) || seen.has(blob.hash)) continue;
        seen.add(blob.hash);
        writes.push({ type: 'put', key: keys.blob(blob.hash), value: blob.json });
      }
      return writes;
    },
    stored(blobs) {
      for (const blob of blobs) remember(blob.hash);
    },
    async read(hashes, what) {
      const unique = [...new Set(hashes)];
      const jsons = await kv.getMany(unique.map(keys.blob));
      const missing = unique.filter((_, index) => jsons[index] === undefined);
      if (missing.length > 0) {
        throw new AgentchartError({
          code: 'STORE_CORRUPT',
          message: `${what} refers to ${missing.length} content blob(s) the store does not hold (${missing.slice(0, 3).join(', ')})`,
          details: { missing },
        });
      }
      let blocks: Map<string, ContentBlock>;
      try {
        blocks = blocksByHash(unique, jsons);
      } catch (cause) {
        throw new AgentchartError({
          code: 'STORE_CORRUPT',
          message: `${what} refers to a content blob that is not JSON`,
          cause,
        });
      }
      for (const hash of unique) remember(hash);
      return blocks;
    },
  };
}
