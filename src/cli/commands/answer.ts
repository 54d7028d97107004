import { AgentchartError } from '../../agentchart-error.js';
import type { RunHandle } from '../../runtime/run/run-handle.js';
import type { CliCommand } from '../cli-command.js';
import { exitCodeOfRun, streamRun } from '../stream-run.js';
import { UsageError } from '../usage-error.js';

/** `answer RUN REQUEST VALUE`: answers a run's question, or approves or rejects a tool call; then streams the run. */
export const answer: CliCommand = {
  name: 'answer',
  usage: 'answer RUN REQUEST VALUE',
  summary:
    "answers a question (VALUE as JSON, else text), or\n'approve' / 'reject' an approval; then streams the run",
  operands: 3,
  async run({ runtime, operands, output }) {
    const [runId, requestId, value] = operands as [string, string, string];
    const { pendingRequests } = await runtime.status(runId);
    const request = pendingRequests.find((pending) => pending.requestId === requestId);
    if (request === undefined) {
      throw new AgentchartError({
        code: 'REQUEST_NOT_FOUND',
        message: `Run '${runId}' waits on no request '${requestId}' (it waits on: ${pendingRequests.map((pending) => pending.requestId).join(', ') || 'nothing'})`,
      });
    }
    let handle: RunHandle;
    if (request.kind === 'approval') {
      if (value !== 'approve' && value !== 'reject')
        throw new UsageError(`an approval takes 'approve' or 'reject', got '${value}'`);
      handle =
        value === 'approve'
          ? await runtime.approve(runId, requestId)
          : await runtime.reject(runId, requestId, 'rejected from the CLI');
    } else {
      let parsed: unknown = value;
      try {
        parsed = JSON.parse(value);
      } catch {
        // Plain text.
      }
      handle = await runtime.respond(runId, requestId, parsed);
    }
    return exitCodeOfRun(await streamRun(runtime, handle, output));
  },
};
