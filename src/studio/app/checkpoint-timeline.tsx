import type { StudioTimelineEntry } from '../studio-api.js';
import { formatCount, formatDuration, totalTokens } from './format.js';
import { listKeys, tabIndexOf } from './list-keys.js';

/**
 * A run's checkpoints, oldest first: step, phase, tokens, the tool calls of the step and the time
 * it took. A listbox like the runs list (↑/↓ or j/k); selecting one shows the run as it was then.
 */
export function CheckpointTimeline({
  timeline,
  selected,
  onSelect,
}: {
  timeline: readonly StudioTimelineEntry[];
  selected: string | undefined;
  onSelect: (checkpointId: string) => void;
}) {
  const index = timeline.findIndex((entry) => entry.id === selected);
  return (
    <section class="timeline" aria-labelledby="timeline-heading">
      <h3 id="timeline-heading">Checkpoints</h3>
      <div
        role="listbox"
        aria-label="Checkpoints"
        class="list"
        onKeyDown={listKeys(timeline.length, index, (next) => {
          const entry = timeline[next];
          if (entry) onSelect(entry.id);
        })}
      >
        {timeline.map((entry, position) => (
          // biome-ignore lint/a11y/useKeyWithClickEvents: the listbox handles the keys of its options
          <div
            role="option"
            tabIndex={tabIndexOf(position, index)}
            key={entry.id}
            aria-selected={entry.id === selected}
            class={entry.id === selected ? 'selected' : ''}
            onClick={() => onSelect(entry.id)}
          >
            <div class="row">
              <span>
                <span class="step">#{entry.stepNum}</span>{' '}
                <span class={`phase phase-${entry.phase}`}>{entry.phase}</span>
              </span>
              <span class="muted small">
                {entry.durationMs === null ? 'start' : `+${formatDuration(entry.durationMs)}`}
              </span>
            </div>
            <div class="muted small">
              turn {entry.turn} · {formatCount(totalTokens(entry.usage))} tokens
              {entry.toolCalls.length > 0 && (
                <> · tools: {entry.toolCalls.map((call) => call.toolName).join(', ')}</>
              )}
            </div>
            {entry.summary !== '' && <div class="summary small">{entry.summary}</div>}
          </div>
        ))}
      </div>
    </section>
  );
}
