/** One write of an atomic batch. */
export type KeyValueWrite = { type: 'put'; key: string; value: string } | { type: 'del'; key: string };

/** What a key must hold for a conditional batch to apply: exactly `value`, or nothing (`undefined`). */
export interface KeyValueExpectation {
  key: string;
  value: string | undefined;
}

/** A key range to read, in key order (or reversed), bounded by `gte` and `lt`. */
export interface KeyRange {
  gte: string;
  lt: string;
  reverse?: boolean;
  limit?: number;
}

/**
 * The ordered key-value space a checkpoint store is built on: string keys in byte order, string
 * values, atomic batches, conditional batches and range reads. LevelDB implements it directly; so
 * does the in-memory map.
 */
export interface KeyValue {
  get(key: string): Promise<string | undefined>;
  getMany(keys: readonly string[]): Promise<(string | undefined)[]>;
  /** Applies every write or none. */
  batch(writes: readonly KeyValueWrite[]): Promise<void>;
  /**
   * Applies the writes, atomically, only if every expected key holds what it expects at that moment
   * (compare-and-set, decided by the space, for every object on it); resolves false, writing
   * nothing, if one does not.
   */
  batchIf(expected: readonly KeyValueExpectation[], writes: readonly KeyValueWrite[]): Promise<boolean>;
  range(range: KeyRange): AsyncIterable<[key: string, value: string]>;
  close(): Promise<void>;
}
