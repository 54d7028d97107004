import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, fromPromise, toPromise, waitFor } from 'xstate';
import { agentRunMachine } from './agent-run-machine.js';
import type { AgentRunEvent, ModelTurnInput, ModelTurnOutput, ToolCallsInput } from './agent-run-types.js';

const usage = { inputTokens: 1, outputTokens: 1, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 };

/** The machine with a model that calls `echo` once and then answers, and a tool actor that echoes. */
function machineWith(turns: ModelTurnOutput[]) {
  return agentRunMachine.provide({
    actors: {
      modelTurn: fromPromise<ModelTurnOutput, ModelTurnInput>(async ({ input }) => {
        const turn = turns[input.turn - 1];
        if (turn === undefined) throw new Error(`no turn ${input.turn}`);
        return turn;
      }),
      toolCalls: fromCallback<AgentRunEvent, ToolCallsInput>(({ input, sendBack }) => {
        for (const call of input.calls) {
          const { toolCallId, toolName } = call;
          sendBack({
            type: 'TOOL_RESULT',
            result: { type: 'tool-result', toolCallId, toolName, output: call.input, isError: false },
          });
        }
        sendBack({ type: 'TOOLS_SETTLED' });
      }),
    },
  });
}

const input = {
  runId: 'm1',
  messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'hi' }] }],
  limits: { maxTurns: 5, maxConcurrentToolCalls: 2 },
};
const toolTurn: ModelTurnOutput = {
  content: [{ type: 'tool-call', toolCallId: 't1', toolName: 'echo', input: { say: 'x' } }],
  stopReason: 'tool_use',
  usage,
  costUsd: 0,
  requests: [],
};
const answerTurn: ModelTurnOutput = {
  content: [{ type: 'text', text: 'bye' }],
  stopReason: 'end_turn',
  usage,
  costUsd: 0,
  requests: [],
};

describe('agentRunMachine', () => {
  it('names its actors, guards and actions by string, so the inspector can draw it and snapshots can restore', () => {
    const json = JSON.stringify(agentRunMachine.config);
    expect(json).toContain('"src":"modelTurn"');
    expect(json).toContain('"src":"toolCalls"');
    expect(Object.keys(agentRunMachine.states).sort()).toEqual(
      ['act', 'cancelled', 'done', 'failed', 'observe', 'paused', 'plan', 'start', 'waiting_input'].sort(),
    );
  });

  it('reaches done through plan, act and observe, with the tool result in the conversation', async () => {
    const actor = createActor(machineWith([toolTurn, answerTurn]), { input }).start();
    await toPromise(actor);
    const { value, context } = actor.getSnapshot();
    expect(value).toBe('done');
    expect(context.turn).toBe(2);
    expect(context.messages.map((message) => message.role)).toEqual([
      'user',
      'assistant',
      'user',
      'assistant',
    ]);
    expect(context.messages[2]?.content).toEqual([
      { type: 'tool-result', toolCallId: 't1', toolName: 'echo', output: { say: 'x' }, isError: false },
    ]);
  });

  it('persists a paused run as plain JSON that restores and resumes', async () => {
    const machine = machineWith([toolTurn, answerTurn]);
    const first = createActor(machine, { input }).start();
    first.send({ type: 'PAUSE' });
    expect(first.getSnapshot().value).toBe('paused');
    const persisted = JSON.parse(JSON.stringify(first.getPersistedSnapshot()));
    first.stop();

    const restored = createActor(machine, { snapshot: persisted, input }).start();
    expect(restored.getSnapshot().value).toBe('paused');
    restored.send({ type: 'RESUME' });
    await toPromise(restored);
    expect(restored.getSnapshot().value).toBe('done');
    expect(restored.getSnapshot().context.turn).toBe(2);
  });

  it('ignores a tool result it already recorded (the journal of the turn)', async () => {
    const machine = agentRunMachine.provide({
      actors: {
        modelTurn: fromPromise<ModelTurnOutput, ModelTurnInput>(async () => toolTurn),
        toolCalls: fromCallback<AgentRunEvent, ToolCallsInput>(() => {}),
      },
    });
    const actor = createActor(machine, { input }).start();
    await waitFor(actor, (snapshot) => snapshot.value === 'act');
    const result = {
      type: 'tool-result' as const,
      toolCallId: 't1',
      toolName: 'echo',
      output: 1,
      isError: false,
    };
    actor.send({ type: 'TOOL_RESULT', result });
    actor.send({ type: 'TOOL_RESULT', result: { ...result, output: 2 } });
    expect(actor.getSnapshot().context.toolResults).toEqual([result]);
    actor.send({ type: 'TOOLS_SETTLED' });
    expect(actor.getSnapshot().context.messages.at(-1)?.content).toEqual([result]);
    actor.stop();
  });
});
