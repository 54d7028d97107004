import type { KeyValue } from 'agentchart/store';

/** A key-value space that counts the bytes of every key and value written through it. */
export function countingKeyValue(inner: KeyValue) {
  let bytes = 0;
  const count = (writes: Parameters<KeyValue['batch']>[0]) => {
    for (const write of writes)
      bytes += write.key.length + (write.type === 'put' ? Buffer.byteLength(write.value) : 0);
  };
  const kv: KeyValue = {
    ...inner,
    batch: (writes) => {
      count(writes);
      return inner.batch(writes);
    },
    batchIf: async (expected, writes) => {
      const applied = await inner.batchIf(expected, writes);
      if (applied) count(writes);
      return applied;
    },
  };
  return {
    kv,
    bytes: () => bytes,
    reset: () => {
      bytes = 0;
    },
  };
}
