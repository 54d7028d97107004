import type { CliCommand } from '../cli-command.js';
import { print } from '../cli-output.js';

/** `runs show RUN`: a run's status and what it waits on. */
export const runsShow: CliCommand = {
  name: 'runs show',
  usage: 'runs show RUN',
  summary: "a run's status and what it waits on",
  operands: 1,
  async run({ runtime, operands, output }) {
    const [runId] = operands as [string];
    const [status, record] = await Promise.all([runtime.status(runId), runtime.runs.get(runId)]);
    print(output, { ...record, ...status }, () =>
      [
        `run       ${runId}`,
        `status    ${status.status} (${status.phase})`,
        `head      ${record?.headCheckpointId ?? '-'} (step ${record?.stepNum})`,
        `messages  ${record?.messageCount}`,
        `fork of   ${record?.forkOf ?? '-'}`,
        `updated   ${record?.updatedAt}`,
        ...status.pendingRequests.map(
          (request) => `waits on  ${request.kind} ${request.requestId}: ${request.prompt}`,
        ),
      ].join('\n'),
    );
    return 0;
  },
};
