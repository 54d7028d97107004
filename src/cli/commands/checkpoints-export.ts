import { resolve } from 'node:path';
import type { CliCommand } from '../cli-command.js';
import { print } from '../cli-output.js';

/** `checkpoints export ID FILE`: a checkpoint as self-contained JSON, resumable with `resume FILE`. */
export const checkpointsExport: CliCommand = {
  name: 'checkpoints export',
  usage: 'checkpoints export ID FILE',
  summary: 'writes it as self-contained JSON (resumable)',
  operands: 2,
  async run({ runtime, operands, output }) {
    const [id, file] = operands as [string, string];
    const path = await runtime.checkpoints.export(id, resolve(file));
    print(output, { exported: id, path }, () => `exported ${id} to ${path}`);
    return 0;
  },
};
