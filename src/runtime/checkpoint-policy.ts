import type { AgentRunContext } from '../machines/agent-run-types.js';
import type { CheckpointStatus } from '../persistence/checkpoint-envelope.js';
import type { RunPhase } from '../streaming/run-event.js';

/**
 * When a run writes checkpoints by itself:
 * - `every-step` (default): after every step of the statechart (a model turn, each tool result, a pause);
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
 * `sync` (default): an effect (a model turn, a tool call) starts only once the checkpoints before
 * it are on disk, so a crash never loses a step that had consequences. `async`: the run goes on
 * while checkpoints are written, faster, and a crash may lose the last steps (they are redone).
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
      return true;
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
