import { Observable, Subject } from 'rxjs';
import type { RunEvent, RunEventBody } from './run-event.js';

/** The events of one run: numbered as they are emitted, and kept as a hot observable. */
export interface RunEventStream {
  readonly events$: Observable<RunEvent>;
  emit(event: RunEventBody): void;
  /** Emits the last event (`run-end`) and completes; later subscribers still receive that last event. */
  end(event: RunEventBody): void;
}

/**
 * Creates the event stream of a run. Live subscribers get every event from the moment they
 * subscribe; a subscriber that arrives after the end gets the final event and completion, so
 * nobody waits forever on a run that is over. No history is buffered (tokens would pile up). A run
 * resumed in another process numbers its events on from `firstSeq`.
 */
export function createRunEventStream(runId: string, firstSeq = 0): RunEventStream {
  const subject = new Subject<RunEvent>();
  let seq = firstSeq;
  let last: RunEvent | undefined;
  const stamp = (event: RunEventBody): RunEvent => ({ ...event, runId, seq: seq++, at: Date.now() });
  const events$ = new Observable<RunEvent>((subscriber) => {
    if (last === undefined) return subject.subscribe(subscriber);
    subscriber.next(last);
    subscriber.complete();
    return undefined;
  });
  return {
    events$,
    emit(event) {
      if (last === undefined) subject.next(stamp(event));
    },
    end(event) {
      if (last !== undefined) return;
      last = stamp(event);
      subject.next(last);
      subject.complete();
    },
  };
}
