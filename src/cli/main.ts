import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { CheckpointStore } from '../persistence/checkpoint-store.js';
import { isPostgresLocation, openStore } from '../persistence/open-store.js';
import { createRuntime } from '../runtime/create-runtime.js';
import type { Runtime } from '../runtime/runtime.js';
import { findCommand } from './cli-commands.js';
import { cliErrorOf } from './cli-error.js';
import { cliOptions } from './cli-options.js';
import type { CliOutput } from './cli-output.js';
import { defaultModel } from './default-model.js';
import { loadConfig } from './load-config.js';
import { UsageError } from './usage-error.js';
import { usageText } from './usage-text.js';

/**
 * Runs the CLI with `argv` (without node and the script); resolves with the exit code. Output goes
 * to stdout and stderr unless `output` says where.
 *
 * @example
 * ```ts
 * const lines: string[] = [];
 * const code = await main(['--store', './.agentchart', '--json', 'runs', 'ls'], { out: (line) => lines.push(line) });
 * ```
 */
export async function main(argv: string[], output?: Partial<CliOutput>): Promise<number> {
  const json = argv.includes('--json');
  const io: CliOutput = {
    json,
    out: output?.out ?? ((text) => process.stdout.write(`${text}\n`)),
    err: output?.err ?? ((text) => process.stderr.write(`${text}\n`)),
  };
  let runtime: Runtime | undefined;
  let store: CheckpointStore | undefined;
  const fromEnvironment = process.env.AGENTCHART_STORE || '.agentchart';
  let storePath = isPostgresLocation(fromEnvironment) ? fromEnvironment : resolve(fromEnvironment);
  try {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: cliOptions });
    if (values.help === true || positionals.length === 0) {
      io.out(usageText);
      return values.help === true ? 0 : 2;
    }
    // A mistyped command is a usage error, whether or not there is a store.
    const found = findCommand(positionals);
    if (found === undefined)
      throw new UsageError(`unknown command '${positionals.join(' ')}'\n\n${usageText}`);
    const { command, operands } = found;
    if (operands.length !== command.operands) throw new UsageError(`usage: agentchart ${command.usage}`);
    if (values.store !== undefined)
      storePath = isPostgresLocation(values.store) ? values.store : resolve(values.store);
    const config = await loadConfig(values.config);
    // A command never creates a store: a mistyped --store is an error, not a new empty store.
    store = await openStore(storePath, { create: false });
    runtime = createRuntime({ ...config, model: config.model ?? (await defaultModel(io)), store });
    return await command.run({ runtime, operands, options: values, output: io });
  } catch (error) {
    const { code, message, exitCode } = cliErrorOf(error, storePath);
    if (io.json) io.out(JSON.stringify({ error: { code, message } }));
    else io.err(`agentchart: ${code === 'USAGE' || code === 'INTERNAL' ? '' : `${code}: `}${message}`);
    return exitCode;
  } finally {
    await runtime?.close();
    await store?.close();
  }
}
