import type { Usage } from './model/usage.js';
import type { RunError } from './run-error.js';

/** How a run ended. */
export type RunStatus = 'done' | 'failed' | 'cancelled';

/** What `await run.result` gives: how the run ended, its final text, and what it used. */
export interface RunResult {
  runId: string;
  status: RunStatus;
  success: boolean;
  /** The text of the model's last turn (what it answered), or `undefined` if it never finished one. */
  output: string | undefined;
  error?: RunError;
  usage: RunUsage;
}

/** Token usage summed over a run, and its number of model turns. */
export interface RunUsage extends Usage {
  turns: number;
}
