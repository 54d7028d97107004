import type { CliCommand } from './cli-command.js';
import { answer } from './commands/answer.js';
import { checkpointsExport } from './commands/checkpoints-export.js';
import { checkpointsLs } from './commands/checkpoints-ls.js';
import { checkpointsRm } from './commands/checkpoints-rm.js';
import { checkpointsShow } from './commands/checkpoints-show.js';
import { diff } from './commands/diff.js';
import { fork } from './commands/fork.js';
import { history } from './commands/history.js';
import { resume } from './commands/resume.js';
import { runsLs } from './commands/runs-ls.js';
import { runsShow } from './commands/runs-show.js';
import { studio } from './commands/studio.js';

/** The CLI's commands, in the order the help lists them. */
export const cliCommands: readonly CliCommand[] = [
  runsLs,
  runsShow,
  checkpointsLs,
  checkpointsShow,
  checkpointsExport,
  checkpointsRm,
  history,
  resume,
  fork,
  diff,
  answer,
  studio,
];

/**
 * The command the first words of `words` name (`runs ls`, `resume`), and the words after it; or
 * undefined when they name none.
 */
export function findCommand(
  words: readonly string[],
): { command: CliCommand; operands: string[] } | undefined {
  for (const command of cliCommands) {
    const name = command.name.split(' ');
    if (name.every((word, index) => words[index] === word))
      return { command, operands: words.slice(name.length) };
  }
  return undefined;
}
