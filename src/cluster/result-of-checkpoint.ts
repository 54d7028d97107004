import type { AgentRunContext } from '../machines/agent-run-types.js';
import { lastAnswerOf } from '../model/message.js';
import type { CheckpointEnvelope } from '../persistence/checkpoint-envelope.js';
import type { RunResult, RunStatus } from '../run-result.js';

/**
 * The result of a run that ended, as its last checkpoint holds it: for a reader or a caller that
 * never saw the run's own `run-end` (the process that ended it stopped before it logged it, or
 * before it answered).
 */
export function resultOfCheckpoint(runId: string, head: CheckpointEnvelope): RunResult {
  const status = head.status as RunStatus;
  const context = head.context as AgentRunContext;
  return {
    runId,
    status,
    success: status === 'done',
    output: lastAnswerOf(context.messages),
    ...(context.error === undefined ? {} : { error: context.error }),
    usage: { ...context.usage, turns: context.turn, costUsd: context.costUsd },
  };
}
