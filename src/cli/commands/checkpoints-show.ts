import type { ContentBlock } from '../../model/message.js';
import type { CliCommand } from '../cli-command.js';
import { print } from '../cli-output.js';

/** A content block in a line of text: text as it is, tool calls and results in brackets. */
function blockText(block: ContentBlock): string {
  if (block.type === 'text') return block.text;
  if (block.type === 'tool-call') return `[${block.toolName} ${JSON.stringify(block.input)}]`;
  if (block.type === 'tool-result') return `[result ${JSON.stringify(block.output)}]`;
  return `[${block.type}]`;
}

/** `checkpoints show ID`: a checkpoint and its conversation. */
export const checkpointsShow: CliCommand = {
  name: 'checkpoints show',
  usage: 'checkpoints show ID',
  summary: 'a checkpoint and its conversation',
  operands: 1,
  async run({ runtime, operands, output }) {
    const [id] = operands as [string];
    const envelope = await runtime.checkpoints.get(id);
    print(output, envelope, () =>
      [
        `checkpoint ${envelope.id} of run ${envelope.runId}, step ${envelope.stepNum}, ${envelope.phase} (${envelope.status})`,
        `saved ${envelope.savedAt}; parent ${envelope.parentId ?? '-'}; tags ${envelope.tags.join(',') || '-'}`,
        '',
        ...envelope.context.messages.map(
          (message) => `${message.role.padEnd(9)} ${message.content.map(blockText).join(' ')}`,
        ),
      ].join('\n'),
    );
    return 0;
  },
};
