import type { Usage } from './model/usage.js';
import type { RunError } from './run-error.js';

/**
 * How a run ended: `done`, `failed` or `cancelled`; or, for a run the runtime dropped from memory
 * while it waited (`unloadParked`), `paused` or `waiting_input` (resume or answer it to go on).
 */
export type RunStatus = 'done' | 'failed' | 'cancelled' | 'paused' | 'waiting_input';

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

/** Token usage summed over a run, its number of model turns, and what it cost. */
export interface RunUsage extends Usage {
  turns: number;
  /** In US dollars, from the runtime's price table (0 for a model without a price). */
  costUsd: number;
}
