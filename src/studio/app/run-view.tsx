import { useCallback, useState } from 'preact/hooks';
import type { RunError } from '../../index.js';
import type { StudioConfig, StudioMachineGraph } from '../studio-api.js';
import { api } from './api-client.js';
import { CheckpointTimeline } from './checkpoint-timeline.js';
import { ConversationView } from './conversation-view.js';
import { ErrorNotice } from './error-notice.js';
import { ForkForm } from './fork-form.js';
import { ForkTree } from './fork-tree.js';
import { formatCost, formatCount, formatTime, formatValue, totalTokens } from './format.js';
import { LiveEvents } from './live-events.js';
import { PendingRequests } from './pending-requests.js';
import { ReplayPanel } from './replay-panel.js';
import { hrefOf, navigate } from './route.js';
import { RunControls } from './run-controls.js';
import { announceRunsChanged } from './runs-changed.js';
import { StatechartView } from './statechart-view.js';
import { StatusBadge } from './status-badge.js';
import { useResource } from './use-resource.js';

function RunErrorView({ error, label }: { error: RunError; label: string }) {
  const code = typeof error.details.code === 'string' ? error.details.code : undefined;
  return (
    <section class="run-error" aria-label={label}>
      <h3>{label}</h3>
      <p>
        <code class="error-code">{error.errorClass}</code>
        {code !== undefined && (
          <>
            {' '}
            <code class="error-code">{code}</code>
          </>
        )}{' '}
        {error.message}{' '}
        <span class="muted small">({error.recoverable ? 'recoverable' : 'not recoverable'})</span>
      </p>
      {Object.keys(error.details).length > 0 && (
        <details>
          <summary>Details</summary>
          <pre class="value">{formatValue(error.details)}</pre>
        </details>
      )}
    </section>
  );
}

/** Picks another run to compare this one with: its parent or a fork by default. */
function CompareWith({ runId, suggested }: { runId: string; suggested: string | undefined }) {
  const runs = useResource('compare-candidates', () => api.runs());
  const others = (runs.data ?? []).filter((run) => run.runId !== runId);
  const [other, setOther] = useState('');
  const chosen = other !== '' ? other : (suggested ?? others[0]?.runId ?? '');
  return (
    <section class="compare-with" aria-labelledby="compare-with-heading">
      <h3 id="compare-with-heading">Compare</h3>
      <form
        class="actions"
        onSubmit={(event) => {
          event.preventDefault();
          if (chosen !== '') navigate({ view: 'compare', a: runId, b: chosen });
        }}
      >
        <label for="compare-other">Compare with</label>
        <select id="compare-other" value={chosen} onChange={(event) => setOther(event.currentTarget.value)}>
          {others.map((run) => (
            <option value={run.runId} key={run.runId}>
              {run.runId} ({run.status})
            </option>
          ))}
        </select>
        <button type="submit" disabled={chosen === ''}>
          Compare
        </button>
      </form>
    </section>
  );
}

/**
 * A run: its header and controls, what it waits on and its error, its live events, its timeline of
 * checkpoints beside the statechart and conversation at the selected one (the latest unless the
 * URL names one), and replay, the fork tree and compare.
 */
export function RunView({
  runId,
  checkpointId,
  graph,
  config,
}: {
  runId: string;
  checkpointId: string | undefined;
  graph: StudioMachineGraph | undefined;
  config: StudioConfig | undefined;
}) {
  const run = useResource(`run:${runId}`, () => api.run(runId));
  const { reload: reloadRun } = run;
  // What changes the run changes the runs list too.
  const reload = useCallback(() => {
    reloadRun();
    announceRunsChanged();
  }, [reloadRun]);
  const data = run.data;
  const selected = checkpointId ?? data?.timeline.at(-1)?.id;
  const at = useResource(`checkpoint:${selected ?? ''}`, () =>
    selected === undefined ? Promise.resolve(undefined) : api.checkpoint(selected),
  );
  if (data === undefined)
    return run.error ? <ErrorNotice error={run.error} /> : <p class="muted">Loading {runId}…</p>;
  const summary = data.run;
  const selectedEntry = data.timeline.find((entry) => entry.id === selected);
  return (
    <article class="run" aria-labelledby="run-heading">
      <header class="run-header">
        <div>
          <h2 id="run-heading">
            <span class="run-id">{runId}</span> <StatusBadge status={summary.status} />
          </h2>
          <p class="muted small">
            {summary.turns} turns · {formatCount(totalTokens(summary.usage))} tokens ·{' '}
            {formatCost(summary.costUsd)} · started {formatTime(summary.createdAt)} ·{' '}
            {data.info.loaded ? 'live in this process' : 'stored'}
            {data.parent !== null && (
              <>
                {' '}
                · fork of{' '}
                <a
                  href={hrefOf({
                    view: 'runs',
                    runId: data.parent.runId,
                    checkpointId: data.parent.checkpointId,
                  })}
                >
                  {data.parent.checkpointId}
                </a>
              </>
            )}
          </p>
        </div>
        <RunControls runId={runId} status={summary.status} onDone={reload} />
      </header>
      <ErrorNotice error={run.error} />
      {data.error !== null && <RunErrorView error={data.error} label="Error" />}
      <PendingRequests runId={runId} requests={data.info.pendingRequests} onDone={reload} />
      <LiveEvents runId={runId} onChange={reload} />
      <div class="run-body">
        <CheckpointTimeline
          timeline={data.timeline}
          selected={selected}
          onSelect={(id) => navigate({ view: 'runs', runId, checkpointId: id })}
        />
        <div class="checkpoint-detail" aria-live="polite">
          <h3>
            At checkpoint <code data-testid="selected-checkpoint">{selected ?? 'none'}</code>
          </h3>
          <ErrorNotice error={at.error} />
          {graph !== undefined && <StatechartView graph={graph} current={at.data?.state} />}
          {at.data !== undefined && (
            <>
              <ForkForm at={at.data} models={config?.models ?? []} key={at.data.checkpoint.id} />
              {at.data.pendingRequests.length > 0 && (
                <p class="small">
                  Waiting then on:{' '}
                  {at.data.pendingRequests
                    .map((request) => `${request.kind} ${request.requestId}`)
                    .join(', ')}
                </p>
              )}
              {at.data.error !== null && (
                <RunErrorView error={at.data.error} label="Error at this checkpoint" />
              )}
              <ConversationView messages={at.data.messages} systemPrompt={at.data.settings.systemPrompt} />
            </>
          )}
        </div>
      </div>
      <ReplayPanel runId={runId} untilStep={selectedEntry?.stepNum} />
      <ForkTree runId={runId} version={`${data.children.length}:${summary.status}`} />
      <CompareWith runId={runId} suggested={data.parent?.runId ?? data.children[0]?.runId} />
    </article>
  );
}
