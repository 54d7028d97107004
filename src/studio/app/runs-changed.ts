/**
 * Tells the runs list that a run changed (the open run's events said so, or an action was taken),
 * so that it asks at once instead of at its next poll.
 */
const target = new EventTarget();

export function announceRunsChanged(): void {
  target.dispatchEvent(new Event('changed'));
}

/** Calls `listener` on every change; returns a function that stops it. */
export function onRunsChanged(listener: () => void): () => void {
  target.addEventListener('changed', listener);
  return () => target.removeEventListener('changed', listener);
}
