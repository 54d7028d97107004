import type { AgentchartErrorCode } from './agentchart-error.js';

const errorCategories = [
  'invalid',
  'not_found',
  'conflict',
  'unprocessable',
  'unavailable',
  'corrupt',
  'internal',
] as const;

/**
 * What kind of failure an {@link AgentchartErrorCode} is, for a program that reports errors: the
 * CLI turns it into an exit code, a service into an HTTP status ({@link httpStatusOf}).
 *
 * - `invalid`: the call was wrong (an argument, an answer that fails its schema).
 * - `not_found`: no such run, checkpoint, request or store.
 * - `conflict`: not possible in the run's state (it is running, it has ended, another writer moved
 *   it on), or the runtime lacks the tool a request is for.
 * - `unprocessable`: a checkpoint that cannot be used: corrupt bytes, an invalid envelope, another
 *   machine version.
 * - `unavailable`: the store is in use by another process, or the runtime is closed; try later.
 * - `corrupt`: the store itself is damaged (LevelDB reports corruption); restore it from a copy.
 * - `internal`: the operation failed on the runtime's side (a store I/O error, a model or a tool,
 *   an abort, or a bug).
 */
export type ErrorCategory = (typeof errorCategories)[number];

/** The category of every error code. */
export const errorCodeCategories = {
  INVALID_ARGUMENT: 'invalid',
  INPUT_INVALID: 'invalid',
  TOOL_INPUT_INVALID: 'invalid',
  RUN_NOT_FOUND: 'not_found',
  CHECKPOINT_NOT_FOUND: 'not_found',
  REQUEST_NOT_FOUND: 'not_found',
  STORE_NOT_FOUND: 'not_found',
  DUPLICATE_RUN_ID: 'conflict',
  RUN_ACTIVE: 'conflict',
  RUN_ENDED: 'conflict',
  RUN_DETACHED: 'conflict',
  CONCURRENCY: 'conflict',
  TOOL_NOT_FOUND: 'conflict',
  CHECKPOINT_CORRUPT: 'unprocessable',
  CHECKPOINT_INVALID: 'unprocessable',
  CHECKPOINT_VERSION_MISMATCH: 'unprocessable',
  STORE_LOCKED: 'unavailable',
  RUNTIME_CLOSED: 'unavailable',
  STORE_CORRUPT: 'corrupt',
  STORE_ERROR: 'internal',
  TOOL_FAILED: 'internal',
  TOOL_TIMEOUT: 'internal',
  MODEL_ERROR: 'internal',
  MODEL_STREAM_INCOMPLETE: 'internal',
  MODEL_STREAM_STALLED: 'internal',
  ABORTED: 'internal',
} as const satisfies Record<AgentchartErrorCode, ErrorCategory>;

/**
 * The HTTP status of each category, for a service's error replies: 400, 404, 409, 422, 503, and
 * 500 for `corrupt` and `internal`. Use it for a service's own codes too (an unknown route is
 * `not_found`, a body that is not JSON `invalid`).
 */
export const httpStatusOfCategory = {
  invalid: 400,
  not_found: 404,
  conflict: 409,
  unprocessable: 422,
  unavailable: 503,
  corrupt: 500,
  internal: 500,
} as const satisfies Record<ErrorCategory, number>;

/** The category of an error code (`internal` for a code this copy of the package does not know). */
export function errorCategoryOf(code: AgentchartErrorCode): ErrorCategory {
  return (errorCodeCategories as Partial<Record<string, ErrorCategory>>)[code] ?? 'internal';
}

/**
 * The HTTP status for an error code, through its category.
 *
 * @example
 * ```ts
 * } catch (error) {
 *   const code = AgentchartError.isInstance(error) ? error.code : undefined;
 *   const status = code === undefined ? 500 : httpStatusOf(code);
 *   response.writeHead(status, { 'content-type': 'application/json' });
 *   response.end(JSON.stringify({ error: { code: code ?? 'INTERNAL', message: String(error) } }));
 * }
 * ```
 */
export function httpStatusOf(code: AgentchartErrorCode): number {
  return httpStatusOfCategory[errorCategoryOf(code)];
}
