import type { CliCommand } from '../cli-command.js';
import { positiveInteger } from '../cli-options.js';
import { print } from '../cli-output.js';
import { textTable } from '../text-table.js';

/** `runs ls`: the runs in the store. */
export const runsLs: CliCommand = {
  name: 'runs ls',
  usage: 'runs ls [--status S] [--limit N]',
  summary: 'the runs in the store, newest first',
  operands: 0,
  async run({ runtime, options, output }) {
    const limit = positiveInteger(options.limit, '--limit');
    const runs = await runtime.runs.list({
      ...(options.status === undefined ? {} : { status: options.status as never }),
      ...(limit === undefined ? {} : { limit }),
    });
    print(output, runs, () =>
      textTable(
        ['RUN', 'STATUS', 'STEP', 'MESSAGES', 'FORK OF', 'UPDATED'],
        runs.map((run) => [
          run.runId,
          run.status,
          String(run.stepNum),
          String(run.messageCount),
          run.forkOf ?? '',
          run.updatedAt,
        ]),
      ),
    );
    return 0;
  },
};
