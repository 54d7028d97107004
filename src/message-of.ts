/**
 * What a thrown value says, for an error message: an Error's message, a string as it is, anything
 * else as JSON. Never throws itself (an object without `toString` included).
 */
export function messageOf(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    return typeof value;
  }
}
