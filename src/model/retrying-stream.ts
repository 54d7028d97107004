import { AgentchartError } from '../agentchart-error.js';
import type { Clock } from '../clock.js';
import { messageOf } from '../message-of.js';
import type { ErrorClass } from '../run-error.js';
import type { ModelClient, ModelRequest, ModelStreamPart } from './model-client.js';

/** How a failed model turn is tried again: how often, and how long to wait between attempts. */
export interface RetryPolicy {
  /** Retries of a turn whose attempt failed with a recoverable error. */
  maxRetries: number;
  /** The first backoff delay; it doubles each retry, with jitter, up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
}

/** The retry policy of a runtime that sets none: 4 retries, from 500 ms up to 30 s apart. */
export const defaultRetryPolicy: Readonly<RetryPolicy> = {
  maxRetries: 4,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
};

/** How long a model stream may send nothing before it is aborted and retried, when the runtime does not say. */
export const defaultIdleStreamMs = 60_000;

/** What {@link retryingStream} needs besides the model and the request. */
export interface RetryingStreamOptions {
  /** Aborts the turn: the attempt in flight, or the wait before the next one (`ABORTED`). */
  signal: AbortSignal;
  retry: RetryPolicy;
  /** Abort and retry an attempt that yields nothing for this long (`stream_stalled`). */
  idleStreamMs: number;
  /** Where backoff delays and the idle watchdog read the time. */
  clock: Clock;
}

/** What a thrown error says about retrying, read from an `AgentchartError`'s details. */
interface Failure {
  errorClass: ErrorClass;
  recoverable: boolean;
  retryAfterMs: number | undefined;
  message: string;
}

/**
 * Streams one turn of any {@link ModelClient}, trying it again when an attempt fails with a
 * recoverable error (an `AgentchartError` whose `details.recoverable` is true): it yields a `retry`
 * part (so consumers drop what the failed attempt yielded), waits `details.retryAfterMs` or an
 * exponential backoff with jitter, and starts the turn over, up to `retry.maxRetries` times. An
 * attempt that yields nothing for `idleStreamMs` is aborted and counts as a recoverable
 * `stream_stalled` failure. Time is read from `clock`, so tests move it by hand. Providers only map
 * their wire and say which errors are worth a retry; this layer does the rest for all of them.
 */
export async function* retryingStream(
  model: ModelClient,
  request: ModelRequest,
  options: RetryingStreamOptions,
): AsyncGenerator<ModelStreamPart> {
  const { signal, retry: policy, clock } = options;
  for (let retry = 0; ; retry++) {
    try {
      yield* watchedAttempt(model, request, options);
      return;
    } catch (thrown) {
      if (signal.aborted) throw aborted();
      const failure = failureOf(thrown);
      if (!failure.recoverable || retry >= policy.maxRetries) throw thrown;
      const delayMs = failure.retryAfterMs ?? backoff(retry, policy);
      const { errorClass, message } = failure;
      yield { type: 'retry', attempt: retry + 1, delayMs, errorClass, message };
      await wait(delayMs, clock, signal);
    }
  }
}

/**
 * One attempt: the model's stream under a signal of its own, aborted with the turn's, or by the
 * watchdog when no part arrives for `idleStreamMs`. An interrupted attempt is left behind at once
 * (a client that does not stop on its signal cannot hold the turn).
 */
async function* watchedAttempt(
  model: ModelClient,
  request: ModelRequest,
  { signal, idleStreamMs, clock }: RetryingStreamOptions,
): AsyncGenerator<ModelStreamPart> {
  const controller = new AbortController();
  // Why the attempt was interrupted, and the wait for a part it cuts short. (Not a race of each
  // part against one long-lived promise: that would pile a reaction per part on it.)
  let interruption: AgentchartError | undefined;
  let cutShort: ((error: AgentchartError) => void) | undefined;
  const interrupt = (error: AgentchartError) => {
    if (interruption !== undefined) return;
    interruption = error;
    controller.abort(error);
    cutShort?.(error);
  };
  const onAbort = () => interrupt(aborted());
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) onAbort();
  // One timer per quiet period, not one per part: when it fires early, it waits out the rest.
  let timer: unknown;
  let lastPartAt = clock.now();
  const watch = (ms: number) => {
    timer = clock.setTimeout(() => {
      const quietMs = clock.now() - lastPartAt;
      if (quietMs >= idleStreamMs) interrupt(stalled(idleStreamMs));
      else watch(idleStreamMs - quietMs);
    }, ms);
  };
  let iterator: AsyncIterator<ModelStreamPart> | undefined;
  // The client's stream ended (or sent its finish part): there is nothing left in it to stop.
  let finished = false;
  try {
    watch(idleStreamMs);
    iterator = model.stream(request, { signal: controller.signal })[Symbol.asyncIterator]();
    for (;;) {
      if (interruption !== undefined) throw interruption;
      const next = iterator.next();
      const result = await new Promise<IteratorResult<ModelStreamPart>>((resolve, reject) => {
        cutShort = reject;
        next.then(resolve, reject);
      });
      cutShort = undefined;
      if (interruption !== undefined) throw interruption;
      if (result.done) {
        finished = true;
        return;
      }
      lastPartAt = clock.now();
      // The finish part is the last: a client that goes on after it is not waited for.
      if (result.value.type === 'finish') finished = true;
      yield result.value;
      if (finished) return;
    }
  } finally {
    clock.clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
    const leftBehind = controller.signal.aborted;
    // An attempt that did not run to its end (interrupted, failed, or given up by the consumer) is
    // told to stop; one that ended has nothing to stop (and an abort would build an error for nothing).
    if (!finished) controller.abort();
    // An interrupted attempt may still be inside the client: it is told to stop, not waited for.
    if (leftBehind) void iterator?.return?.()?.catch(() => {});
    else await iterator?.return?.();
  }
}

/** The failure of an attempt that sent nothing for `idleStreamMs`. */
function stalled(idleStreamMs: number): AgentchartError {
  return new AgentchartError({
    code: 'MODEL_STREAM_STALLED',
    message: `The model stream sent nothing for ${idleStreamMs} ms (timeouts.idleStreamMs)`,
    details: { errorClass: 'stream_stalled', recoverable: true, idleStreamMs },
  });
}

function failureOf(error: unknown): Failure {
  if (!AgentchartError.isInstance(error)) {
    return {
      errorClass: 'model_error',
      recoverable: false,
      retryAfterMs: undefined,
      message: messageOf(error),
    };
  }
  const { errorClass, recoverable, retryAfterMs } = error.details;
  return {
    errorClass: (errorClass as ErrorClass | undefined) ?? 'model_error',
    recoverable: recoverable === true,
    retryAfterMs:
      typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs) && retryAfterMs >= 0
        ? retryAfterMs
        : undefined,
    message: error.message,
  };
}

/** The delay before retry number `retry + 1`: between half and all of `baseDelayMs * 2^retry`, at most `maxDelayMs`. */
function backoff(retry: number, { baseDelayMs, maxDelayMs }: RetryPolicy): number {
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** retry);
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** Resolves after `ms` on the clock, or rejects (`ABORTED`) when the signal aborts first. */
function wait(ms: number, clock: Clock, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(aborted());
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(aborted());
    };
    const handle = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function aborted(): AgentchartError {
  return new AgentchartError({ code: 'ABORTED', message: 'The model turn was aborted' });
}
