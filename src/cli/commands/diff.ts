import type { CliCommand } from '../cli-command.js';
import { print } from '../cli-output.js';
import { textTable } from '../text-table.js';

/** `diff RUN_A RUN_B`: where two runs part and how their answers differ. */
export const diff: CliCommand = {
  name: 'diff',
  usage: 'diff RUN_A RUN_B',
  summary: 'where two runs part and how their answers differ',
  operands: 2,
  async run({ runtime, operands, output }) {
    const [a, b] = operands as [string, string];
    const diff = await runtime.compare(a, b);
    print(output, diff, () =>
      [
        `common ancestor: ${diff.commonAncestor ?? 'none'}`,
        `diverge at: ${diff.divergence ? `message ${diff.divergence.messageIndex} (turn ${diff.divergence.turn})` : 'nowhere'}`,
        textTable(
          ['', 'STATUS', 'TURNS', 'CHECKPOINTS', 'TOKENS IN', 'TOKENS OUT', 'COST'],
          [diff.a, diff.b].map((side) => [
            side.runId,
            side.status,
            String(side.turns),
            String(side.checkpoints),
            String(side.usage.inputTokens),
            String(side.usage.outputTokens),
            `$${side.costUsd.toFixed(4)}`,
          ]),
        ),
        ...diff.outputDiff.map(({ op, line }) => `${{ same: ' ', removed: '-', added: '+' }[op]} ${line}`),
      ].join('\n'),
    );
    return 0;
  },
};
