import { useState } from 'preact/hooks';
import type { CheckpointStatus } from '../../index.js';
import type { ApiError } from './api-client.js';
import { api } from './api-client.js';
import { ErrorNotice } from './error-notice.js';

const ended = new Set<CheckpointStatus>(['done', 'failed', 'cancelled']);

/** Pause, resume and cancel, as the run's status allows; a refusal shows its code. */
export function RunControls({
  runId,
  status,
  onDone,
}: {
  runId: string;
  status: CheckpointStatus;
  onDone: () => void;
}) {
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const act = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
      onDone();
    } catch (failure) {
      setError(failure as ApiError);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="controls">
      <fieldset class="actions">
        <legend class="visually-hidden">Run controls</legend>
        <button
          type="button"
          disabled={busy || status !== 'active'}
          onClick={() => void act(() => api.pause(runId))}
        >
          Pause
        </button>
        <button
          type="button"
          disabled={busy || status !== 'paused'}
          onClick={() => void act(() => api.resume(runId))}
        >
          Resume
        </button>
        <button
          type="button"
          class="danger"
          disabled={busy || ended.has(status)}
          onClick={() => void act(() => api.cancel(runId, 'cancelled from the studio'))}
        >
          Cancel
        </button>
      </fieldset>
      <ErrorNotice error={error} />
    </div>
  );
}
