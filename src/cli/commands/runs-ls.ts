import { type CheckpointStatus, checkpointStatuses } from '../../persistence/checkpoint-envelope.js';
import type { RunRecord } from '../../persistence/run-store.js';
import type { CliCommand } from '../cli-command.js';
import { positiveInteger } from '../cli-options.js';
import { print } from '../cli-output.js';
import { textTable } from '../text-table.js';
import { UsageError } from '../usage-error.js';

/** Orders runs newest first: by creation, then by last update, then by id. */
function newestFirst(a: RunRecord, b: RunRecord): number {
  return (
    b.createdAt.localeCompare(a.createdAt) ||
    b.updatedAt.localeCompare(a.updatedAt) ||
    a.runId.localeCompare(b.runId)
  );
}

/** `--status`, checked against the statuses a run can have. */
function statusOption(value: string | undefined): CheckpointStatus | undefined {
  if (value === undefined || checkpointStatuses.includes(value as CheckpointStatus))
    return value as CheckpointStatus | undefined;
  throw new UsageError(`--status must be one of ${checkpointStatuses.join(', ')}; got '${value}'`);
}

/** `runs ls`: the runs in the store, newest first. */
export const runsLs: CliCommand = {
  name: 'runs ls',
  usage: 'runs ls [--status S] [--limit N]',
  summary: 'the runs in the store, newest first',
  operands: 0,
  async run({ runtime, options, output }) {
    const status = statusOption(options.status);
    const limit = positiveInteger(options.limit, '--limit');
    // The store lists runs in the order of their ids: sort them all, then keep the newest.
    const all = await runtime.runs.list(status === undefined ? {} : { status });
    const runs = all.sort(newestFirst).slice(0, limit);
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
