import type { Runtime } from '../runtime/runtime.js';
import type { CliOptions } from './cli-options.js';
import type { CliOutput } from './cli-output.js';

/** What a command runs with: the runtime over the store, its operands, the options, and the output. */
export interface CliContext {
  runtime: Runtime;
  /** The words after the command's name, as many as it takes (`operands`). */
  operands: readonly string[];
  options: CliOptions;
  output: CliOutput;
}

/** One command of the CLI: its name, how it is called, and what it does. */
export interface CliCommand {
  /** The words that name it: `runs ls`, `resume`. */
  name: string;
  /** How it is called, after `agentchart`: `runs show RUN`. */
  usage: string;
  /** What it does, for the help (a line each). */
  summary: string;
  /** How many operands it takes; a call with another number is a usage error (exit code 2). */
  operands: number;
  /** Runs it; resolves with the exit code. */
  run(context: CliContext): Promise<number>;
}
