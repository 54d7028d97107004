import { createActor, fromCallback, fromPromise } from 'xstate';
import { AgentchartError } from '../../agentchart-error.js';
import { agentRunMachine } from '../../machines/agent-run-machine.js';
import type {
  AgentRunEvent,
  AgentRunInput,
  ModelTurnInput,
  ModelTurnOutput,
  ToolCallsInput,
} from '../../machines/agent-run-types.js';
import { messageOf } from '../../message-of.js';

const inertMachine = agentRunMachine.provide({
  actors: {
    modelTurn: fromPromise<ModelTurnOutput, ModelTurnInput>(() => new Promise(() => {})),
    toolCalls: fromCallback<AgentRunEvent, ToolCallsInput>(() => {}),
  },
});

/**
 * Restores and starts the snapshot on a machine whose actors do nothing, and throws
 * `CHECKPOINT_INVALID` if XState cannot: a snapshot that validates can still be one XState chokes on.
 */
export function assertRestorable(snapshot: Record<string, unknown>, input: AgentRunInput): void {
  let failure: unknown;
  try {
    const probe = createActor(inertMachine, { snapshot: snapshot as never, input });
    probe.subscribe({ error: (error) => (failure ??= error) });
    probe.start();
    if (probe.getSnapshot().status === 'error') failure ??= probe.getSnapshot().error;
    probe.stop();
  } catch (error) {
    failure ??= error;
  }
  if (failure !== undefined) {
    const reason = messageOf(failure);
    throw new AgentchartError({
      code: 'CHECKPOINT_INVALID',
      message: `The checkpoint's snapshot cannot be restored: ${reason}`,
      cause: failure,
    });
  }
}
