import { useState } from 'preact/hooks';
import type { ReplayReport } from '../../index.js';
import type { ApiError } from './api-client.js';
import { api } from './api-client.js';
import { ErrorNotice } from './error-notice.js';

/** Replays a run from its record, without the model or any tool, and shows whether it reached the same states. */
export function ReplayPanel({ runId, untilStep }: { runId: string; untilStep: number | undefined }) {
  const [report, setReport] = useState<ReplayReport>();
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const [upToSelected, setUpToSelected] = useState(false);
  const replay = async () => {
    setBusy(true);
    setError(undefined);
    try {
      setReport(await api.replay(runId, upToSelected ? untilStep : undefined));
    } catch (failure) {
      setError(failure as ApiError);
      setReport(undefined);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="replay" aria-labelledby="replay-heading">
      <h3 id="replay-heading">Replay</h3>
      <div class="actions">
        <button type="button" disabled={busy} onClick={() => void replay()}>
          Replay without the model
        </button>
        <label>
          <input
            type="checkbox"
            checked={upToSelected}
            onChange={(event) => setUpToSelected(event.currentTarget.checked)}
          />{' '}
          up to the selected checkpoint{untilStep === undefined ? '' : ` (#${untilStep})`}
        </label>
      </div>
      <ErrorNotice error={error} />
      {report !== undefined && (
        <dl class="facts" data-testid="replay-report">
          <dt>Same states</dt>
          <dd class={report.sameStates ? 'good' : 'bad'}>{report.sameStates ? 'yes' : 'no'}</dd>
          <dt>Same answer</dt>
          <dd class={report.sameOutput ? 'good' : 'bad'}>{report.sameOutput ? 'yes' : 'no'}</dd>
          <dt>Turns replayed</dt>
          <dd>{report.turns}</dd>
          <dt>Replayed states</dt>
          <dd>{report.states.join(' → ')}</dd>
          <dt>Recorded states</dt>
          <dd>{report.recordedStates.join(' → ')}</dd>
        </dl>
      )}
    </section>
  );
}
