import type { Observable } from 'rxjs';
import type { EventLogStore } from '../../persistence/event-log-store.js';
import type { RunResult } from '../../run-result.js';
import { createEventSeqs } from '../../streaming/event-seqs.js';
import { guarded } from '../../streaming/guarded-observable.js';
import type { RunEvent, RunEventBody } from '../../streaming/run-event.js';
import { createRunEventStream } from '../../streaming/run-event-stream.js';
import type { RunEnvironment } from './run-environment.js';

/** How many event seqs a run reserves at a time (a crash leaves at most this many unused). */
export const eventSeqRange = 1024;

/** The events of one run: its stream, numbered from reserved seqs, and its event log. */
export interface RunEvents {
  readonly events$: Observable<RunEvent>;
  emit(event: RunEventBody): void;
  /** Makes the run's log findable by readers (once the run is in the store). */
  register(): void;
  /**
   * Ends the stream with `run-end`, then lets the log finish writing. A run that `left` this
   * process without ending has no `run-end` in its log: it goes on elsewhere. Nor has a run whose
   * seqs ran out (its store failed to reserve more): its log is left as a stopped process leaves
   * it, and readers wait for the run to be resumed.
   */
  end(result: RunResult, left: boolean): Promise<void>;
}

/** What {@link createRunEvents} takes. */
export interface RunEventsOptions {
  runId: string;
  /** The seqs reserved for the run before it launched. */
  firstSeqs: { start: number; count: number };
  /** The run's store, once it is in it. */
  store(): Promise<EventLogStore>;
  /** Told when the store cannot reserve more seqs (the run fails, and numbers no event past its reserved seqs). */
  onStoreError(error: unknown): void;
}

/**
 * Creates the events of a run. They wait for the next turn of the event loop, so that whoever
 * subscribes right after getting the handle misses nothing, and every event goes to the run's log.
 */
export function createRunEvents(environment: RunEnvironment, options: RunEventsOptions): RunEvents {
  const { runId, store } = options;
  const seqs = createEventSeqs({
    first: options.firstSeqs,
    reserve: async (count) => (await store()).reserveEventSeqs(runId, count),
    rangeSize: eventSeqRange,
    onError: options.onStoreError,
  });
  const stream = createRunEventStream(runId, { seqs, clock: environment.clock, held: true });
  setImmediate(() => stream.release());
  const log = environment.eventLogs.create(runId, store);
  stream.events$.subscribe((event) => log.record(event));
  return {
    // A subscriber that throws cannot take the process (or this run, or another) down.
    events$: guarded(stream.events$),
    emit(event) {
      if (environment.telemetry || event.type !== 'telemetry') stream.emit(event);
    },
    register: () => environment.eventLogs.register(log),
    async end(result, left) {
      if (left) void environment.eventLogs.release(log, { detach: true });
      const delivered = await stream.end({ type: 'run-end', result });
      if (!left) void environment.eventLogs.release(log, { detach: !delivered });
    },
  };
}
