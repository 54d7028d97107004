import type { AgentchartErrorCode } from '../agentchart-error.js';
import { type ErrorCategory, errorCategoryOf } from '../error-category.js';

/**
 * The CLI's exit code for each error category. Besides these: 0 ok, 2 also for a mistake in how the
 * CLI was called, and 6 when the run a command drove failed or was cancelled.
 */
export const exitCodeOfCategory = {
  internal: 1,
  invalid: 2,
  not_found: 3,
  unavailable: 4,
  conflict: 5,
  unprocessable: 5,
  corrupt: 7,
} as const satisfies Record<ErrorCategory, number>;

/** The CLI's exit code for an error code, through its category. */
export function exitCodeOf(code: AgentchartErrorCode): number {
  return exitCodeOfCategory[errorCategoryOf(code)];
}
