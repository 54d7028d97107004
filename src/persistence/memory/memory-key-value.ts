import type { KeyValue, KeyValueWrite } from '../key-value/key-value.js';

/** A key-value space in memory, for tests and for runs that need no durability. */
export function memoryKeyValue(): KeyValue {
  const data = new Map<string, string>();
  let sorted: string[] | undefined;
  const keys = () => {
    sorted ??= [...data.keys()].sort();
    return sorted;
  };
  const apply = (writes: readonly KeyValueWrite[]) => {
    for (const write of writes) {
      if (write.type === 'put') {
        if (!data.has(write.key)) sorted = undefined;
        data.set(write.key, write.value);
      } else if (data.delete(write.key)) {
        sorted = undefined;
      }
    }
  };
  return {
    get: async (key) => data.get(key),
    getMany: async (wanted) => wanted.map((key) => data.get(key)),
    batch: async (writes) => apply(writes),
    // Checked and applied in one synchronous step: nothing else runs in between.
    batchIf: async (expected, writes) => {
      if (expected.some(({ key, value }) => data.get(key) !== value)) return false;
      apply(writes);
      return true;
    },
    async *range({ gte, lt, reverse = false, limit = Number.POSITIVE_INFINITY }) {
      const all = keys();
      const inRange = all.slice(lowerBound(all, gte), lowerBound(all, lt));
      if (reverse) inRange.reverse();
      let count = 0;
      for (const key of inRange) {
        if (count++ >= limit) return;
        const value = data.get(key);
        if (value !== undefined) yield [key, value];
      }
    },
    close: async () => {},
  };
}

/** The index of the first key not less than `key` in a sorted array. */
function lowerBound(sorted: readonly string[], key: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] as string) < key) low = middle + 1;
    else high = middle;
  }
  return low;
}
