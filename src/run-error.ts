import { AgentchartError } from './agentchart-error.js';
import { messageOf } from './message-of.js';

/** Why a run did not succeed (or, in a `retry` event, why a model turn starts over). */
export const errorClasses = [
  'cancelled',
  'budget_exceeded',
  'timeout',
  'refusal',
  'max_tokens',
  'context_window_exceeded',
  'rate_limited',
  'overloaded',
  'server_error',
  'network',
  'stream_stalled',
  'authentication',
  'permission',
  'invalid_request',
  'not_found',
  'model_error',
  'store_error',
  'internal',
  'interrupted',
] as const;

/** Why a run did not succeed. `interrupted`: a turn was cut off by a pause or a stopped process, and asked again. */
export type ErrorClass = (typeof errorClasses)[number];

/** A failure inside a run, as plain data (it is kept in the run's context and its result). */
export interface RunError {
  errorClass: ErrorClass;
  /** Whether the same run could succeed if tried again (later, or with raised limits). */
  recoverable: boolean;
  message: string;
  details: Record<string, unknown>;
  /** The error that caused it, reduced to JSON. */
  cause?: { name: string; message: string; code?: string };
}

/** Turns anything thrown inside a run into a {@link RunError}. */
export function toRunError(error: unknown, fallback: ErrorClass = 'internal'): RunError {
  if (AgentchartError.isInstance(error)) {
    const { errorClass, recoverable, ...details } = error.details;
    const cause = error.cause;
    return {
      errorClass: (errorClass as ErrorClass | undefined) ?? fallback,
      recoverable: recoverable === true,
      message: error.message,
      details: { code: error.code, ...details },
      ...(cause instanceof Error ? { cause: describeCause(cause) } : {}),
    };
  }
  if (error instanceof Error) {
    return {
      errorClass: fallback,
      recoverable: false,
      message: error.message,
      details: {},
      cause: describeCause(error),
    };
  }
  return { errorClass: fallback, recoverable: false, message: messageOf(error), details: {} };
}

function describeCause(error: Error): { name: string; message: string; code?: string } {
  const code = (error as { code?: unknown }).code;
  return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
}

/** Store failures that would only repeat if the run tried again: a lost race, data that is bad. */
const repeatingStoreCodes = new Set<string>([
  'CONCURRENCY',
  'CHECKPOINT_INVALID',
  'CHECKPOINT_CORRUPT',
  'STORE_CORRUPT',
  'STORE_NOT_FOUND',
  'DUPLICATE_RUN_ID',
  'RUN_NOT_FOUND',
]);

/**
 * A store failure inside a run, as data: never recoverable when it would repeat (a write that lost
 * a race, corrupt or invalid data); recoverable otherwise (an I/O error may pass).
 */
export function storeFailure(error: unknown): RunError {
  const code = AgentchartError.isInstance(error) ? error.code : undefined;
  return {
    ...toRunError(error, 'store_error'),
    recoverable: code === undefined || !repeatingStoreCodes.has(code),
  };
}
