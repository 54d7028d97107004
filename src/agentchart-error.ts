/** Every code an {@link AgentchartError} can carry. Callers branch on these, never on message text. */
export type AgentchartErrorCode =
  | 'INVALID_ARGUMENT'
  | 'DUPLICATE_RUN_ID'
  | 'RUNTIME_CLOSED'
  | 'TOOL_NOT_FOUND'
  | 'TOOL_INPUT_INVALID'
  | 'TOOL_FAILED'
  | 'TOOL_TIMEOUT'
  | 'MODEL_ERROR'
  | 'MODEL_STREAM_INCOMPLETE'
  | 'MODEL_STREAM_STALLED'
  | 'ABORTED'
  | 'STORE_LOCKED'
  | 'STORE_ERROR'
  | 'STORE_CORRUPT'
  | 'STORE_NOT_FOUND'
  | 'CONCURRENCY'
  | 'RUN_NOT_FOUND'
  | 'RUN_ACTIVE'
  | 'RUN_ENDED'
  | 'RUN_DETACHED'
  | 'CHECKPOINT_NOT_FOUND'
  | 'CHECKPOINT_CORRUPT'
  | 'CHECKPOINT_INVALID'
  | 'CHECKPOINT_VERSION_MISMATCH'
  | 'REQUEST_NOT_FOUND'
  | 'INPUT_INVALID';

/** Constructor options of {@link AgentchartError}. */
export interface AgentchartErrorOptions {
  code: AgentchartErrorCode;
  message: string;
  details?: Record<string, unknown>;
  cause?: unknown;
}

const brand = Symbol.for('agentchart.error');

/**
 * The one error class agentchart throws. Misuse of the API throws it; failures inside a run are
 * reported as data (`result.error`, a `run-end` event) instead.
 *
 * @example
 * ```ts
 * try {
 *   runtime.start({ input: '' });
 * } catch (error) {
 *   if (AgentchartError.isInstance(error) && error.code === 'INVALID_ARGUMENT') console.error(error.message);
 * }
 * ```
 */
export class AgentchartError extends Error {
  readonly code: AgentchartErrorCode;
  readonly details: Record<string, unknown>;

  constructor({ code, message, details, cause }: AgentchartErrorOptions) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'AgentchartError';
    this.code = code;
    this.details = details ?? {};
    Object.defineProperty(this, brand, { value: true });
  }

  /** True for an AgentchartError, even one created by another copy of the package. */
  static isInstance(value: unknown): value is AgentchartError {
    return typeof value === 'object' && value !== null && brand in value;
  }
}

/** The `RUN_NOT_FOUND` error for a run id the store does not hold (`what` says what was looked for). */
export function runNotFound(runId: string, what = ''): AgentchartError {
  return new AgentchartError({
    code: 'RUN_NOT_FOUND',
    message: `No run '${runId}'${what === '' ? ' in the store' : ` ${what}`}`,
    details: { runId },
  });
}

/**
 * A write that lost a race: it expected one version of a run or a session, and another writer had
 * already moved it on. Nothing was written; reload and retry (or merge).
 *
 * @example
 * ```ts
 * try {
 *   await (await session.run('Hi')).committed;
 * } catch (error) {
 *   if (error instanceof ConcurrencyError) console.log(error.expectedVersion, error.actualVersion);
 * }
 * ```
 */
export class ConcurrencyError extends AgentchartError {
  readonly expectedVersion: number;
  readonly actualVersion: number;

  constructor(options: {
    message: string;
    expectedVersion: number;
    actualVersion: number;
    details?: Record<string, unknown>;
  }) {
    const { expectedVersion, actualVersion } = options;
    super({
      code: 'CONCURRENCY',
      message: options.message,
      details: { ...options.details, expectedVersion, actualVersion },
    });
    this.name = 'ConcurrencyError';
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}
