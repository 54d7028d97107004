import type { Usage } from '../../index.js';

/** Input, output and cache tokens together. */
export function totalTokens(usage: Usage): number {
  return usage.inputTokens + usage.outputTokens + usage.cacheCreationInputTokens + usage.cacheReadInputTokens;
}

/** `1,234`. */
export function formatCount(count: number): string {
  return count.toLocaleString('en-US');
}

/** `$0.0123`: four decimals, since runs often cost fractions of a cent. */
export function formatCost(usd: number): string {
  return `${usd < 0 ? '-' : ''}$${Math.abs(usd).toFixed(4)}`;
}

/** A signed delta: `+12`, `-3`, `±0`. */
export function formatDelta(delta: number, format: (value: number) => string = formatCount): string {
  if (delta === 0) return '±0';
  return delta > 0 ? `+${format(delta)}` : `-${format(-delta)}`;
}

/** `820 ms`, `3.4 s`, `2 min 5 s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** A timestamp in the reader's locale, to the second. */
export function formatTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

/** A value as text: a string as it is, anything else as indented JSON. */
export function formatValue(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value, null, 2) ?? String(value));
}
