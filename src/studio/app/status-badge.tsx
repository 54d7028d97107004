import type { CheckpointStatus } from '../../index.js';

/** A run's status as a labelled badge (its colour is never the only sign: the word is there). */
export function StatusBadge({ status }: { status: CheckpointStatus }) {
  return <span class={`badge status-${status}`}>{status.replace('_', ' ')}</span>;
}
