import { AgentchartError } from '../../agentchart-error.js';
import type { CliCommand } from '../cli-command.js';
import { print } from '../cli-output.js';

/** `checkpoints rm ID`: deletes a checkpoint (`CHECKPOINT_NOT_FOUND` if there is none). */
export const checkpointsRm: CliCommand = {
  name: 'checkpoints rm',
  usage: 'checkpoints rm ID',
  summary: 'deletes a checkpoint',
  operands: 1,
  async run({ runtime, operands, output }) {
    const [id] = operands as [string];
    const removed = await runtime.checkpoints.delete(id);
    if (!removed)
      throw new AgentchartError({
        code: 'CHECKPOINT_NOT_FOUND',
        message: `No checkpoint '${id}' in the store`,
      });
    print(output, { removed: id }, () => `removed ${id}`);
    return 0;
  },
};
