import { useEffect, useState } from 'preact/hooks';
import type { CheckpointStatus } from '../../index.js';
import type { StudioRunSummary } from '../studio-api.js';
import { api } from './api-client.js';
import { ErrorNotice } from './error-notice.js';
import { formatCost, formatCount, formatTime, totalTokens } from './format.js';
import { listKeys, tabIndexOf } from './list-keys.js';
import { navigate } from './route.js';
import { onRunsChanged } from './runs-changed.js';
import { StatusBadge } from './status-badge.js';
import { useInterval, useResource } from './use-resource.js';

/** How often the list asks for changes: runs start, park and end while it is open. */
const pollMs = 1500;

/**
 * The runs of the store, newest first, filtered by status, following the store as it changes. A
 * listbox: ↑/↓ or j/k move through it, and the selected run opens.
 */
export function RunsList({
  selected,
  statuses,
}: {
  selected: string | undefined;
  statuses: readonly CheckpointStatus[];
}) {
  const [status, setStatus] = useState<CheckpointStatus | ''>('');
  const runs = useResource(`runs:${status}`, () => api.runs(status === '' ? undefined : status));
  useInterval(runs.reload, pollMs);
  useEffect(() => onRunsChanged(runs.reload), [runs.reload]);
  const list = runs.data ?? [];
  const index = list.findIndex((run) => run.runId === selected);
  const open = (run: StudioRunSummary | undefined) => run && navigate({ view: 'runs', runId: run.runId });
  return (
    <section class="runs" aria-labelledby="runs-heading">
      <div class="runs-header">
        <h2 id="runs-heading">Runs</h2>
        <label>
          Status{' '}
          <select
            value={status}
            onChange={(event) => setStatus(event.currentTarget.value as CheckpointStatus | '')}
          >
            <option value="">all</option>
            {statuses.map((value) => (
              <option value={value} key={value}>
                {value.replace('_', ' ')}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorNotice error={runs.error} />
      {runs.data !== undefined && list.length === 0 && (
        <p class="muted">No runs{status ? ` ${status}` : ''}.</p>
      )}
      <div
        role="listbox"
        aria-label="Runs"
        class="list"
        onKeyDown={listKeys(list.length, index, (next) => open(list[next]))}
      >
        {list.map((run, position) => (
          // biome-ignore lint/a11y/useKeyWithClickEvents: the listbox handles the keys of its options
          <div
            role="option"
            tabIndex={tabIndexOf(position, index)}
            key={run.runId}
            aria-selected={run.runId === selected}
            class={run.runId === selected ? 'selected' : ''}
            onClick={() => open(run)}
          >
            <div class="row">
              <span class="run-id">{run.runId}</span>
              <StatusBadge status={run.status} />
            </div>
            <div class="row muted small">
              <span>
                {run.turns} turns · {formatCount(totalTokens(run.usage))} tokens · {formatCost(run.costUsd)}
              </span>
              <time dateTime={run.createdAt}>{formatTime(run.createdAt)}</time>
            </div>
            {run.forkOf !== null && <div class="muted small">fork of {run.forkOf}</div>}
          </div>
        ))}
      </div>
    </section>
  );
}
