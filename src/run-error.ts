import { AgentchartError } from './agentchart-error.js';

/** Why a run did not succeed. */
export type ErrorClass =
  | 'cancelled'
  | 'budget_exceeded'
  | 'timeout'
  | 'refusal'
  | 'max_tokens'
  | 'rate_limited'
  | 'overloaded'
  | 'server_error'
  | 'network'
  | 'stream_stalled'
  | 'authentication'
  | 'permission'
  | 'invalid_request'
  | 'not_found'
  | 'model_error'
  | 'store_error'
  | 'internal';

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
  return { errorClass: fallback, recoverable: false, message: String(error), details: {} };
}

function describeCause(error: Error): { name: string; message: string; code?: string } {
  const code = (error as { code?: unknown }).code;
  return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
}
