import { UsageError } from './usage-error.js';

/** The options the CLI takes, for `parseArgs` (`--json`, `--store` and `--config` apply to every command). */
export const cliOptions = {
  store: { type: 'string' },
  json: { type: 'boolean' },
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  status: { type: 'string' },
  limit: { type: 'string' },
  run: { type: 'string' },
  tag: { type: 'string' },
  'system-prompt': { type: 'string' },
  input: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
} as const;

/** The options as parsed: each one given, as its string (or `true` for a flag). */
export type CliOptions = {
  [Name in keyof typeof cliOptions]?: (typeof cliOptions)[Name]['type'] extends 'boolean' ? boolean : string;
};

/** Parses an option that must be a positive integer (`--limit`); undefined when it was not given. */
export function positiveInteger(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(value)) throw new UsageError(`${name} must be a positive integer, got '${value}'`);
  return Number(value);
}
