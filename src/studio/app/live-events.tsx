import { useEffect, useState } from 'preact/hooks';
import type { RunEvent } from '../../index.js';
import { api } from './api-client.js';

/** Every event type a run sends (the SSE `event:` names). */
const eventTypes: RunEvent['type'][] = [
  'run-start',
  'phase',
  'text-delta',
  'thinking-delta',
  'tool-call',
  'tool-result',
  'tool-error',
  'retry',
  'checkpoint',
  'usage',
  'input-request',
  'paused',
  'resumed',
  'telemetry',
  'run-end',
];
/** Events after which the run's stored state changed: the page loads it again. */
const changing = new Set<RunEvent['type']>(['checkpoint', 'input-request', 'paused', 'resumed', 'run-end']);
/** The most events the log below the text keeps. */
const keptEvents = 200;

interface Stream {
  texts: Record<number, string>;
  events: RunEvent[];
  state: 'connecting' | 'following' | 'ended';
}

function describe(event: RunEvent): string {
  switch (event.type) {
    case 'phase':
      return `${event.phase} (turn ${event.turn})`;
    case 'tool-call':
      return `${event.toolName} ${JSON.stringify(event.input)}`;
    case 'checkpoint':
      return event.checkpointId;
    case 'retry':
      return `turn ${event.turn}: ${event.errorClass}`;
    case 'input-request':
      return `${event.request.kind} ${event.request.requestId}`;
    case 'run-end':
      return event.result.status;
    default:
      return '';
  }
}

/**
 * A run's events over Server-Sent Events: first those of its log (catch-up), then live, with the
 * text of each turn assembled as it streams. On `retry` for turn T it drops what it holds of turn
 * T, so the text is exactly the run's. `onChange` hears of events that change the stored run.
 */
export function LiveEvents({ runId, onChange }: { runId: string; onChange: () => void }) {
  const [stream, setStream] = useState<Stream>({ texts: {}, events: [], state: 'connecting' });
  useEffect(() => {
    setStream({ texts: {}, events: [], state: 'connecting' });
    const source = new EventSource(api.eventsUrl(runId));
    source.onopen = () =>
      setStream((previous) => ({ ...previous, state: previous.state === 'ended' ? 'ended' : 'following' }));
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED)
        setStream((previous) => ({ ...previous, state: 'ended' }));
    };
    const receive = (message: MessageEvent<string>) => {
      const event = JSON.parse(message.data) as RunEvent;
      setStream((previous) => {
        if (previous.events.some((seen) => seen.seq === event.seq)) return previous;
        const texts = { ...previous.texts };
        if (event.type === 'retry') delete texts[event.turn];
        if (event.type === 'text-delta') texts[event.turn] = (texts[event.turn] ?? '') + event.text;
        const events =
          event.type === 'text-delta' || event.type === 'thinking-delta'
            ? previous.events
            : [...previous.events, event].slice(-keptEvents);
        return { texts, events, state: event.type === 'run-end' ? 'ended' : previous.state };
      });
      if (event.type === 'run-end') source.close();
      if (changing.has(event.type)) onChange();
    };
    for (const type of eventTypes) source.addEventListener(type, receive);
    return () => source.close();
  }, [runId]);
  const turns = Object.keys(stream.texts)
    .map(Number)
    .sort((a, b) => a - b);
  return (
    <section class="live" aria-labelledby="live-heading">
      <h3 id="live-heading">
        Live <span class={`badge stream-${stream.state}`}>{stream.state}</span>
      </h3>
      <div class="live-text" aria-live="polite" data-testid="live-text">
        {turns.length === 0 ? (
          <p class="muted">No text yet.</p>
        ) : (
          turns.map((turn) => (
            <p key={turn}>
              <span class="muted small">turn {turn}: </span>
              {stream.texts[turn]}
            </p>
          ))
        )}
      </div>
      <details>
        <summary>Events ({stream.events.length})</summary>
        <ol class="events small">
          {stream.events.map((event) => (
            <li key={event.seq}>
              <code>{event.seq}</code> {event.type} <span class="muted">{describe(event)}</span>
            </li>
          ))}
        </ol>
      </details>
    </section>
  );
}
