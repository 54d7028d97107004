import { cliCommands } from './cli-commands.js';

/** A command's usage and its summary, the summary aligned in a column of its own. */
const commandLines = cliCommands.flatMap(({ usage, summary }) => {
  const [first = '', ...rest] = summary.split('\n');
  return [`  ${usage.padEnd(40)}${first}`.trimEnd(), ...rest.map((line) => `${' '.repeat(42)}${line}`)];
});

/** What `agentchart --help` prints: the commands, the options and the exit codes. */
export const usageText = `Usage: agentchart [--store PATH|postgres://…] [--json] [--config FILE] COMMAND

Commands:
${commandLines.join('\n')}

Options:
  --store PATH    the store: a LevelDB folder, or a postgres:// URL (?schema=NAME picks
                  the schema); default $AGENTCHART_STORE, else ./.agentchart
  --json          machine-readable output (JSON; events as JSON lines)
  --config FILE   a module whose default export is part of a createRuntime config: model, tools, ...
                  (the run's tools must be there to resume it; without a model, Claude is used when
                  ANTHROPIC_API_KEY is set, else a scripted model that only says so)

Exit codes: 0 ok, 1 unexpected error, 2 bad usage, 3 not found, 4 store locked,
5 not possible (the run's state, an unusable checkpoint, a missing tool), 6 the run failed or was
cancelled, 7 the store is damaged.`;
