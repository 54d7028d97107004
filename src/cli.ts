#!/usr/bin/env node
/**
 * `agentchart`: inspect, export, resume, fork and compare the runs in a store from a terminal.
 * Run `agentchart --help` for the commands. The package's bin: the commands are modules in `cli/`.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { main } from './cli/main.js';

export { main };

/**
 * True when node runs this file as its program: directly, or through a symlink (npm links a
 * package's bin into `node_modules/.bin`, and `npx` runs that link), so both sides are real paths.
 */
function isProgram(): boolean {
  const program = process.argv[1];
  if (program === undefined) return false;
  try {
    return realpathSync(program) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isProgram()) process.exitCode = await main(process.argv.slice(2));
