import type { AgentRunContext, RunLimits } from './agent-run-types.js';

/** A limit a run went over: which one, how much was used, and the maximum. */
export interface BudgetOverrun {
  limit: keyof Omit<RunLimits, 'maxConcurrentToolCalls'>;
  used: number;
  max: number;
}

/**
 * The first limit the run has used up, if any. `maxTurns` is used up when the run has taken that
 * many turns (and wants another); the others when usage has gone past them.
 */
export function budgetOverrun({ limits, usage, turn, costUsd }: AgentRunContext): BudgetOverrun | undefined {
  const total =
    usage.inputTokens + usage.outputTokens + usage.cacheCreationInputTokens + usage.cacheReadInputTokens;
  const checks: [BudgetOverrun['limit'], number, number | undefined, boolean][] = [
    ['maxTurns', turn, limits.maxTurns, true],
    ['maxInputTokens', usage.inputTokens, limits.maxInputTokens, false],
    ['maxOutputTokens', usage.outputTokens, limits.maxOutputTokens, false],
    ['maxTotalTokens', total, limits.maxTotalTokens, false],
    ['maxCostUsd', costUsd, limits.maxCostUsd, false],
  ];
  for (const [limit, used, max, reachedIsOver] of checks) {
    if (max !== undefined && (reachedIsOver ? used >= max : used > max)) return { limit, used, max };
  }
  return undefined;
}
