import { AgentchartError } from '../agentchart-error.js';
import { messageOf } from '../message-of.js';
import { displayLocation } from '../persistence/open-store.js';
import { exitCodeOf } from './exit-code-of.js';
import { UsageError } from './usage-error.js';

/** How the CLI reports a failure: the code it prints, the message, and the exit code. */
export interface CliError {
  /** An {@link AgentchartError}'s code, `USAGE` for a mistake in the call, else `INTERNAL`. */
  code: string;
  message: string;
  exitCode: number;
}

/**
 * What the CLI says about something thrown: an {@link AgentchartError} exits with its category's
 * code (a store in use, a missing store and a missing tool with advice for the command line), a
 * mistake in the call with 2, and anything else with 1.
 */
export function cliErrorOf(error: unknown, storeLocation: string): CliError {
  const storePath = displayLocation(storeLocation);
  const usage =
    error instanceof UsageError || String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS_');
  if (!AgentchartError.isInstance(error))
    return { code: usage ? 'USAGE' : 'INTERNAL', message: messageOf(error), exitCode: usage ? 2 : 1 };
  const { code, cause } = error;
  let message = error.message;
  if (code === 'STORE_LOCKED')
    message = `The store at ${storePath} is in use by another process (a running service?). Stop it, or point --store at a copy.`;
  if (code === 'STORE_NOT_FOUND')
    message = `no store at ${storePath} (give --store the folder or postgres:// URL of an existing store)`;
  if (code === 'TOOL_NOT_FOUND') message += ' (pass --config FILE, a module whose tools include it)';
  if (
    (code === 'STORE_CORRUPT' || code === 'STORE_ERROR') &&
    cause instanceof Error &&
    !message.includes(cause.message)
  )
    message += ` (cause: ${cause.message})`;
  return { code, message, exitCode: exitCodeOf(code) };
}
