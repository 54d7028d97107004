import type { KeyValue } from 'agentchart';

/** A key-value space that counts the bytes of every key and value written through it. */
export function countingKeyValue(inner: KeyValue) {
  let bytes = 0;
  const kv: KeyValue = {
    ...inner,
    batch: (writes) => {
      for (const write of writes)
        bytes += write.key.length + (write.type === 'put' ? Buffer.byteLength(write.value) : 0);
      return inner.batch(writes);
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
