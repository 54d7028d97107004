import type { CliCommand } from '../cli-command.js';
import { exitCodeOfRun, streamRun } from '../stream-run.js';

/** `fork ID`: starts a new run from a checkpoint, with another system prompt or input, streaming it. */
export const fork: CliCommand = {
  name: 'fork',
  usage: 'fork ID [--system-prompt S] [--input S]',
  summary: 'starts a new run from a checkpoint, streaming it',
  operands: 1,
  async run({ runtime, operands, options, output }) {
    const [id] = operands as [string];
    const modifications = {
      ...(options['system-prompt'] === undefined ? {} : { systemPrompt: options['system-prompt'] }),
      ...(options.input === undefined ? {} : { input: options.input }),
    };
    return exitCodeOfRun(await streamRun(runtime, await runtime.fork(id, { modifications }), output));
  },
};
