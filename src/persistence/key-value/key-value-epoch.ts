import { ConcurrencyError } from '../../agentchart-error.js';
import { keys } from './key-layout.js';
import type { KeyValue, KeyValueExpectation } from './key-value.js';

/** What a write of a run expects of its owner epoch: nothing without an epoch, the epoch's key otherwise. */
export function epochExpected(runId: string, epoch: number | undefined): KeyValueExpectation[] {
  if (epoch === undefined) return [];
  // A run stored before epochs has none: its epoch is 0.
  return [{ key: keys.runEpoch(runId), value: epoch === 0 ? undefined : String(epoch) }];
}

/** Throws `CONCURRENCY` if the run's owner epoch is no longer `epoch` (someone took the run over). */
export async function assertEpoch(kv: KeyValue, runId: string, epoch: number | undefined): Promise<void> {
  if (epoch === undefined) return;
  const stored = await kv.get(keys.runEpoch(runId));
  const actual = stored === undefined ? 0 : Number(stored);
  if (actual === epoch) return;
  throw new ConcurrencyError({
    message: `Run '${runId}' was taken over (owner epoch ${actual}, not ${epoch}): this writer no longer owns it`,
    expectedVersion: epoch,
    actualVersion: actual,
    details: { runId, epoch: true },
  });
}
