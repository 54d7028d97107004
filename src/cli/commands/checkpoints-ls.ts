import { runNotFound } from '../../agentchart-error.js';
import type { CliCommand } from '../cli-command.js';
import { positiveInteger } from '../cli-options.js';
import { print } from '../cli-output.js';
import { textTable } from '../text-table.js';

/** `checkpoints ls`: checkpoint descriptions, newest first, of a run (`RUN_NOT_FOUND` if there is none) or of the whole store. */
export const checkpointsLs: CliCommand = {
  name: 'checkpoints ls',
  usage: 'checkpoints ls [--run RUN] [--tag T] [--limit N]',
  summary: '',
  operands: 0,
  async run({ runtime, options, output }) {
    const limit = positiveInteger(options.limit, '--limit');
    // A run that does not exist is not found, not a run without checkpoints.
    if (options.run !== undefined && (await runtime.runs.get(options.run)) === undefined)
      throw runNotFound(options.run);
    const list = await runtime.checkpoints.list({
      ...(options.run === undefined ? {} : { runId: options.run }),
      ...(options.tag === undefined ? {} : { tags: [options.tag] }),
      ...(limit === undefined ? {} : { limit }),
    });
    print(output, list, () =>
      textTable(
        ['CHECKPOINT', 'STEP', 'PHASE', 'STATUS', 'TURN', 'COST', 'SAVED', 'TAGS', 'SUMMARY'],
        list.map((meta) => [
          meta.id,
          String(meta.stepNum),
          meta.phase,
          meta.status,
          String(meta.turn),
          `$${meta.costUsd.toFixed(4)}`,
          meta.savedAt,
          meta.tags.join(','),
          meta.summary.slice(0, 60),
        ]),
      ),
    );
    return 0;
  },
};
