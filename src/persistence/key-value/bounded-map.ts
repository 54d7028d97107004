/** A map that keeps at most a given number of entries, forgetting the one set longest ago first. */
export interface BoundedMap<V> {
  get(key: string): V | undefined;
  has(key: string): boolean;
  /** Keeps `value` under `key` as the newest entry; beyond the bound, the oldest entry goes. */
  set(key: string, value: V): void;
  delete(key: string): void;
}

/** Creates a {@link BoundedMap} of at most `bound` entries (0: it keeps nothing). */
export function boundedMap<V>(bound: number): BoundedMap<V> {
  const entries = new Map<string, V>();
  return {
    get: (key) => entries.get(key),
    has: (key) => entries.has(key),
    set(key, value) {
      entries.delete(key);
      if (bound === 0) return;
      entries.set(key, value);
      if (entries.size > bound) entries.delete(entries.keys().next().value as string);
    },
    delete: (key) => void entries.delete(key),
  };
}
