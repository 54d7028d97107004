import { z } from 'zod';
import { parseOptions } from '../parse-options.js';

/** How much a store object remembers between writes: what `memoryStore`, `levelStore`, `postgresStore` and `createKeyValueStore` take. */
export interface StoreCacheOptions {
  /**
   * How many runs a store object remembers (default 1,000): each one's last written record and
   * event-log head, which its next write expects instead of reading them back; it also remembers 10
   * times as many hashes of content blobs it knows are stored. 0 remembers nothing: every write reads
   * first. What it remembers is only a guess: every compare-and-set is decided by what is stored.
   */
  cacheSize?: number;
}

/** How many runs a store object remembers when `cacheSize` is not given. */
export const defaultCacheSize = 1_000;

const cacheOptionsSchema = z.object({
  cacheSize: z
    .number({ error: 'cacheSize must be a number of runs' })
    .int('cacheSize must be a whole number of runs')
    .nonnegative('cacheSize must be 0 or more'),
});

/**
 * The number of runs a store object remembers: `cacheSize`, or the default when it is undefined. `INVALID_ARGUMENT`
 * naming `cacheSize` if it is not a whole number, 0 or more. Stores check it before they open
 * anything.
 */
export function cacheSizeOf(cacheSize: StoreCacheOptions['cacheSize']): number {
  if (cacheSize === undefined) return defaultCacheSize;
  return parseOptions('store options', cacheOptionsSchema, { cacheSize }).cacheSize;
}
