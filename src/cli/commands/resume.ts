import type { CliCommand } from '../cli-command.js';
import { exitCodeOfRun, streamRun } from '../stream-run.js';

/** `resume ID`: continues a run, a checkpoint or an exported file, streaming it. */
export const resume: CliCommand = {
  name: 'resume',
  usage: 'resume ID',
  summary: 'continues a run (or a checkpoint, or an exported file), streaming it',
  operands: 1,
  async run({ runtime, operands, output }) {
    const [from] = operands as [string];
    return exitCodeOfRun(await streamRun(runtime, await runtime.resume(from), output));
  },
};
