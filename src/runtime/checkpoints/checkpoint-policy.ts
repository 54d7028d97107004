import type { AgentRunContext } from '../../machines/agent-run-types.js';
import type { CheckpointStatus } from '../../persistence/checkpoint-envelope.js';
import type { RunPhase } from '../../streaming/run-event.js';

/**
 * When a run writes checkpoints by itself:
 * - `every-step` (default): after every step of the statechart: a model turn, the tool calls of a
 *   turn settling, a pause, the end. (Each tool result is written to the journal as it completes.)
 * - `on-tool-call`: when a turn's tool calls are about to run (and at pauses and the end);
 * - `on-error`: only when the run fails;
 * - `manual`: only on `run.checkpoint()`;
 * - a predicate on the run's context and phase.
 */
export type CheckpointPolicy =
  | 'every-step'
  | 'on-tool-call'
  | 'on-error'
  | 'manual'
  | ((context: AgentRunContext, phase: RunPhase) => boolean);

/**
 * `sync` (default): the tool calls of a turn start only once the checkpoints before them are on
 * disk, so a crash never loses the step that led to an effect outside (and a call in flight at a
 * crash runs again under the same id, for its tool to deduplicate). Model turns are safe to request
 * again and do not wait. `async`: tool calls do not wait either: faster, but after a crash a lost
 * turn is asked of the model again, and its tool calls may come back under new ids.
 */
export type CheckpointDurability = 'sync' | 'async';

/** The `checkpoint` option of `createRuntime`. */
export interface CheckpointOptions {
  policy?: CheckpointPolicy;
  durability?: CheckpointDurability;
}

const terminal = new Set<RunPhase>(['done', 'failed', 'cancelled']);

/** The status a checkpoint in this phase records. */
export function statusOf(phase: RunPhase): CheckpointStatus {
  if (phase === 'paused' || phase === 'waiting_input' || terminal.has(phase))
    return phase as CheckpointStatus;
  return 'active';
}

/** Whether the policy wants a checkpoint on entering `phase` from `previous`. */
export function wantsCheckpoint(
  policy: CheckpointPolicy,
  context: AgentRunContext,
  phase: RunPhase,
  previous: RunPhase | undefined,
): boolean {
  if (typeof policy === 'function') return policy(context, phase);
  switch (policy) {
    case 'every-step':
      // Each tool result is already on disk in the journal before the statechart hears of it.
      return !(phase === 'act' && previous === 'act');
    case 'on-tool-call':
      return (
        (phase === 'act' && previous !== 'act') ||
        phase === 'paused' ||
        phase === 'waiting_input' ||
        terminal.has(phase)
      );
    case 'on-error':
      return phase === 'failed';
    case 'manual':
      return false;
  }
}

/** Whether a phase ends the run. */
export function isTerminal(phase: RunPhase): boolean {
  return terminal.has(phase);
}
