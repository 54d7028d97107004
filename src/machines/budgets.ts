import { addUsage } from '../model/usage.js';
import type { AgentRunContext, ModelTurnOutput, RunLimits } from './agent-run-types.js';

/** A limit a run went over: which one, how much was used, and the maximum. */
export interface BudgetOverrun {
  limit: keyof Omit<RunLimits, 'maxConcurrentToolCalls'>;
  used: number;
  max: number;
}

/**
 * How a budget is checked:
 * - `over`: a limit was gone past (after a model turn: the turn's tool calls must not run);
 * - `usedUp`: no model turn may start (a limit is reached, `maxTurns` turns were taken, or a
 *   limit was gone past).
 */
export type BudgetCheck = 'over' | 'usedUp';

/** The first limit the run is over (or has used up), if any. */
export function budgetOverrun(
  { limits, usage, turn, costUsd }: Pick<AgentRunContext, 'limits' | 'usage' | 'turn' | 'costUsd'>,
  check: BudgetCheck = 'usedUp',
): BudgetOverrun | undefined {
  const total =
    usage.inputTokens + usage.outputTokens + usage.cacheCreationInputTokens + usage.cacheReadInputTokens;
  const checks: [BudgetOverrun['limit'], number, number | undefined][] = [
    ['maxTurns', turn, limits.maxTurns],
    ['maxInputTokens', usage.inputTokens, limits.maxInputTokens],
    ['maxOutputTokens', usage.outputTokens, limits.maxOutputTokens],
    ['maxTotalTokens', total, limits.maxTotalTokens],
    ['maxCostUsd', costUsd, limits.maxCostUsd],
  ];
  for (const [limit, used, max] of checks) {
    if (max === undefined) continue;
    // Taking `maxTurns` turns is not going over; it only means no other turn may start.
    if (check === 'over' ? limit !== 'maxTurns' && used > max : used >= max) return { limit, used, max };
  }
  return undefined;
}

/** The first limit the run goes over with this model turn's usage counted, if any. */
export function overrunWith(context: AgentRunContext, output: ModelTurnOutput): BudgetOverrun | undefined {
  return budgetOverrun(
    {
      limits: context.limits,
      usage: addUsage(context.usage, output.usage),
      costUsd: context.costUsd + output.costUsd,
      turn: context.turn + 1,
    },
    'over',
  );
}
