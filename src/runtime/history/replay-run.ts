import { createActor, fromCallback, fromPromise, toPromise } from 'xstate';
import { AgentchartError, runNotFound } from '../../agentchart-error.js';
import { agentRunMachine } from '../../machines/agent-run-machine.js';
import type {
  AgentRunEvent,
  ModelTurnInput,
  ModelTurnOutput,
  ToolCallsInput,
} from '../../machines/agent-run-types.js';
import { lastAnswerOf, type ToolResultBlock, toolCallsOf } from '../../model/message.js';
import { emptyUsage } from '../../model/usage.js';
import type { RunStore } from '../../persistence/run-store.js';
import type { RunPhase } from '../../streaming/run-event.js';

/** What `runtime.replay` reports. */
export interface ReplayReport {
  runId: string;
  /** Model turns replayed from the record. */
  turns: number;
  /** The phases the replay went through that a checkpoint can show (no `observe`, which never rests). */
  states: RunPhase[];
  /** The phases of the run's checkpoints, over the same span. */
  recordedStates: RunPhase[];
  sameStates: boolean;
  /** The text of the last answer the replay reached, and whether the run's record has the same. */
  output: string | undefined;
  sameOutput: boolean;
}

/**
 * Drives the run statechart again from a run's recorded model turns and tool results, calling
 * neither the model nor any tool, and writing nothing: a check that the recorded history replays
 * to the same states and answer. `untilStep` stops at that checkpoint of the run.
 */
export async function replayRun(store: RunStore, runId: string, untilStep?: number): Promise<ReplayReport> {
  const record = await store.getRun(runId);
  if (record?.headCheckpointId == null) {
    throw runNotFound(runId, 'with a checkpoint to replay');
  }
  const metas = await store.listCheckpoints({ runId, order: 'asc' });
  const last = untilStep === undefined ? metas.at(-1) : metas.findLast((meta) => meta.stepNum <= untilStep);
  const recorded = last === undefined ? undefined : await store.getCheckpoint(last.id);
  const first = metas[0] === undefined ? undefined : await store.getCheckpoint(metas[0].id);
  if (recorded === undefined || first === undefined || last === undefined) {
    throw new AgentchartError({
      code: 'CHECKPOINT_NOT_FOUND',
      message: `Run '${runId}' has no checkpoint at or before step ${untilStep}`,
    });
  }
  const { messages } = recorded.context;
  const start = first.context.messages.length;

  // The recorded answers of the model, and the recorded results of each tool call.
  const answers = messages.slice(start).filter((message) => message.role === 'assistant');
  const results = new Map<string, ToolResultBlock>(
    recorded.context.toolResults.map((result) => [result.toolCallId, result]),
  );
  for (const message of messages) {
    for (const block of message.content)
      if (block.type === 'tool-result') results.set(block.toolCallId, block);
  }
  let answered = 0;
  // Resolves when the replay needs what the record does not have (the next answer, or a call's result).
  let recordEnded: () => void = () => {};
  const ended = new Promise<void>((resolve) => {
    recordEnded = resolve;
  });
  const machine = agentRunMachine.provide({
    actors: {
      modelTurn: fromPromise<ModelTurnOutput, ModelTurnInput>(async () => {
        const answer = answers[answered];
        if (answer === undefined) {
          recordEnded();
          return new Promise<never>(() => {});
        }
        answered++;
        const stopReason = toolCallsOf(answer.content).length > 0 ? 'tool_use' : 'end_turn';
        return { content: answer.content, stopReason, usage: emptyUsage(), costUsd: 0, requests: [] };
      }),
      toolCalls: fromCallback<AgentRunEvent, ToolCallsInput>(({ input, sendBack }) => {
        if (input.calls.some((call) => !results.has(call.toolCallId))) return recordEnded();
        for (const call of input.calls) {
          const result = results.get(call.toolCallId);
          if (result !== undefined) sendBack({ type: 'TOOL_RESULT', result });
        }
        queueMicrotask(() => sendBack({ type: 'TOOLS_SETTLED' }));
      }),
    },
  });
  const { limits } = first.context;
  const actor = createActor(machine, {
    input: {
      runId,
      messages: [],
      limits: { ...limits, maxTurns: Number.MAX_SAFE_INTEGER },
      context: { ...first.context, deadlines: {} },
    },
  });
  const states: RunPhase[] = [];
  actor.subscribe((snapshot) => {
    const phase = snapshot.value as RunPhase;
    if (states.at(-1) !== phase) states.push(phase);
  });
  actor.start();
  await Promise.race([toPromise(actor).catch(() => undefined), ended]);
  const final = actor.getSnapshot();
  actor.stop();
  const recordedStates = collapse(
    metas.filter((meta) => meta.stepNum <= last.stepNum).map((meta) => meta.phase),
  );
  const output = lastAnswerOf(final.context.messages);
  return {
    runId,
    turns: final.context.turn - first.context.turn,
    states,
    recordedStates,
    // Checkpoints may skip steps (by policy), so the record must be found, in order, in the replay.
    sameStates: isSubsequence(recordedStates, states) && states.at(-1) === recordedStates.at(-1),
    output,
    sameOutput: output === lastAnswerOf(messages),
  };
}

function collapse(phases: RunPhase[]): RunPhase[] {
  return phases.filter((phase, index) => phase !== phases[index - 1]);
}

function isSubsequence(part: readonly RunPhase[], whole: readonly RunPhase[]): boolean {
  let at = 0;
  for (const phase of whole) if (phase === part[at]) at++;
  return at === part.length;
}
