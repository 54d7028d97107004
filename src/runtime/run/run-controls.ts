import { z } from 'zod';
import { AgentchartError } from '../../agentchart-error.js';
import type { AgentRunActor } from '../../machines/agent-run-machine.js';
import type { RequestAnswer } from '../../pending-request.js';
import type { ToolRegistry } from '../../tools/tool-registry.js';

/**
 * Checks an answer against the run's pending request and sends it: `REQUEST_NOT_FOUND` for a
 * request the run is not waiting on, `INVALID_ARGUMENT` for an answer of the wrong kind, and
 * `INPUT_INVALID` (with zod's issues) for a value that fails the question's answer schema. A refused
 * answer changes nothing: the run keeps waiting.
 */
export function sendAnswer(
  actor: AgentRunActor,
  registry: ToolRegistry,
  requestId: string,
  answer: RequestAnswer,
): void {
  const snapshot = actor.getSnapshot();
  const { runId } = snapshot.context;
  const request = snapshot.context.pendingRequests.find((pending) => pending.requestId === requestId);
  if (request === undefined || snapshot.status !== 'active') {
    throw new AgentchartError({
      code: 'REQUEST_NOT_FOUND',
      message: `Run '${runId}' is not waiting on a request '${requestId}'`,
      details: {
        runId,
        requestId,
        pending: snapshot.context.pendingRequests.map((pending) => pending.requestId),
      },
    });
  }
  if (request.kind !== answer.kind) {
    const use = request.kind === 'input' ? 'respond()' : 'approve() or reject()';
    throw new AgentchartError({
      code: 'INVALID_ARGUMENT',
      message: `Request '${requestId}' asks for ${request.kind === 'input' ? 'an answer' : 'an approval'}: use ${use}`,
      details: { runId, requestId, kind: request.kind },
    });
  }
  let checked = answer;
  if (answer.kind === 'input') {
    const schema = registry.get(request.toolName)?.answer ?? z.unknown();
    const parsed = schema.safeParse(answer.value);
    if (!parsed.success) {
      throw new AgentchartError({
        code: 'INPUT_INVALID',
        message: `The answer to '${requestId}' does not match its schema:\n${z.prettifyError(parsed.error)}`,
        details: {
          runId,
          requestId,
          issues: parsed.error.issues.map(({ path, message }) => ({ path, message })),
        },
      });
    }
    checked = { kind: 'input', value: parsed.data };
  }
  actor.send({ type: 'RESPOND', requestId, answer: checked });
}
