import type { AgentRunSnapshot } from '../../machines/agent-run-machine.js';
import type { AgentRunContext, AgentRunInput } from '../../machines/agent-run-types.js';
import { lastAnswerOf, textOf } from '../../model/message.js';
import type { RunResult, RunStatus } from '../../run-result.js';

/** The text of the first user message: what the run was asked. */
export function inputTextOf(messages: AgentRunInput['messages']): string {
  const first = messages.find((message) => message.role === 'user');
  return first === undefined ? '' : textOf(first.content);
}

/**
 * The result of a run from its last snapshot (`status` defaults to the state it is in). An actor
 * that errored has no context in its snapshot: `lastContext` is the last one it had.
 */
export function resultOf(
  runId: string,
  snapshot: AgentRunSnapshot,
  lastContext: AgentRunContext,
  status: RunStatus = snapshot.value as RunStatus,
): RunResult {
  const context = snapshot.context ?? lastContext;
  const output = lastAnswerOf(context.messages);
  return {
    runId,
    status,
    success: status === 'done',
    output,
    ...(context.error === undefined ? {} : { error: context.error }),
    usage: { ...context.usage, turns: context.turn, costUsd: context.costUsd },
  };
}

/** A failed (or cancelled) result with this error. */
export function failure(
  runId: string,
  snapshot: AgentRunSnapshot,
  lastContext: AgentRunContext,
  error: NonNullable<RunResult['error']>,
  status: RunStatus = 'failed',
): RunResult {
  return { ...resultOf(runId, snapshot, lastContext, status), success: false, error };
}
