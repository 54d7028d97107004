import type { PendingRequest } from '../../pending-request.js';
import type { CheckpointStatus } from '../../persistence/checkpoint-envelope.js';
import type { RunPhase } from '../../streaming/run-event.js';

/** Where a run is, as `runtime.status` tells it. */
export interface RunStatusInfo {
  runId: string;
  /** Whether the run is in this process's memory (otherwise it is only in the store). */
  loaded: boolean;
  status: CheckpointStatus;
  phase: RunPhase;
  /** The questions and approvals it waits on. */
  pendingRequests: PendingRequest[];
}
