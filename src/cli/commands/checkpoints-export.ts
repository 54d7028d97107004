import type { CliCommand } from '../cli-command.js';
import { print } from '../cli-output.js';

/** `checkpoints export ID PATH`: a checkpoint as self-contained JSON (to a file, or to `ID.json` in a folder), resumable with `resume FILE`. */
export const checkpointsExport: CliCommand = {
  name: 'checkpoints export',
  usage: 'checkpoints export ID PATH',
  summary: 'writes it as self-contained JSON (resumable) to a file,\nor to ID.json in a folder',
  operands: 2,
  async run({ runtime, operands, output }) {
    // The path as given: a trailing separator says it is a folder.
    const [id, target] = operands as [string, string];
    const path = await runtime.checkpoints.export(id, target);
    print(output, { exported: id, path }, () => `exported ${id} to ${path}`);
    return 0;
  },
};
