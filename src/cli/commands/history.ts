import type { CliCommand } from '../cli-command.js';
import { print } from '../cli-output.js';
import { textTable } from '../text-table.js';

/** `history RUN`: a run's checkpoints, its parent and its forks. */
export const history: CliCommand = {
  name: 'history',
  usage: 'history RUN',
  summary: "a run's checkpoints, its parent and its forks",
  operands: 1,
  async run({ runtime, operands, output }) {
    const [runId] = operands as [string];
    const history = await runtime.history(runId);
    print(output, history, () =>
      [
        `run ${history.runId} (${history.status})${history.parent ? `, forked from ${history.parent.checkpointId}` : ''}`,
        textTable(
          ['STEP', 'PHASE', 'TURN', 'MESSAGES', 'COST', 'SUMMARY'],
          history.checkpoints.map((meta) => [
            String(meta.stepNum),
            meta.phase,
            String(meta.turn),
            String(meta.messageCount),
            `$${meta.costUsd.toFixed(4)}`,
            meta.summary.slice(0, 60),
          ]),
        ),
        ...history.children.map((child) => `fork ${child.runId} from ${child.forkOf}`),
      ].join('\n'),
    );
    return 0;
  },
};
