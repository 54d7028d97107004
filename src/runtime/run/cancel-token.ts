/** A one-shot cancellation with a reason: the first `cancel` wins, later ones change nothing. */
export interface CancelToken {
  /** Cancels with `reason` (default `cancelled`); false if it was cancelled already. */
  cancel(reason?: string): boolean;
  readonly cancelled: boolean;
  /** The reason of the first `cancel`, or undefined. */
  readonly reason: string | undefined;
  /** Aborted on the first `cancel`, with the reason as its `reason`. */
  readonly signal: AbortSignal;
}

/**
 * Creates a {@link CancelToken}. Give it (or its `signal`) to `runtime.start` or `runtime.resume`:
 * cancelling it cancels the run, whose result then carries the reason in `error.details.reason`.
 *
 * @example
 * ```ts
 * const token = createCancelToken();
 * const run = runtime.start({ input: 'Research this', signal: token });
 * setTimeout(() => token.cancel('user closed the tab'), 5_000);
 * ```
 */
export function createCancelToken(): CancelToken {
  const controller = new AbortController();
  let reason: string | undefined;
  return {
    cancel(given = 'cancelled') {
      if (reason !== undefined) return false;
      reason = given;
      controller.abort(given);
      return true;
    },
    get cancelled() {
      return reason !== undefined;
    },
    get reason() {
      return reason;
    },
    signal: controller.signal,
  };
}

/** The abort signal of a start option: a signal, or a token's. */
export function signalOf(source: AbortSignal | CancelToken | undefined): AbortSignal | undefined {
  if (source === undefined || source instanceof AbortSignal) return source;
  return source.signal;
}
