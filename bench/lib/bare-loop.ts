import type { Message } from 'agentchart';
import { assign, createActor, fromPromise, setup, toPromise } from 'xstate';
import { freshText, textBytes, toolResultBytes } from './fresh-workload.js';

interface BareContext {
  turns: number;
  turn: number;
  messages: Message[];
}

/**
 * The floor the agent loop is measured against: a bare XState plan/act/observe statechart with
 * `fromPromise` actors and nothing else (no deltas, no events, no store). Each turn makes the
 * same content as the workload: 1 KB of new text and a tool call, then a 4 KB new result.
 */
const bareLoopMachine = setup({
  types: { context: {} as BareContext, input: {} as { turns: number } },
  actors: {
    plan: fromPromise<Message, { turn: number; last: boolean }>(async ({ input }) => ({
      role: 'assistant',
      content: [
        { type: 'text', text: freshText(textBytes) },
        ...(input.last
          ? []
          : [
              {
                type: 'tool-call' as const,
                toolCallId: `call_${input.turn}`,
                toolName: 'fetch_page',
                input: { page: input.turn },
              },
            ]),
      ],
    })),
    act: fromPromise<Message, { turn: number }>(async ({ input }) => ({
      role: 'user',
      content: [
        {
          type: 'tool-result',
          toolCallId: `call_${input.turn}`,
          toolName: 'fetch_page',
          output: freshText(toolResultBytes),
          isError: false,
        },
      ],
    })),
  },
}).createMachine({
  context: ({ input }) => ({
    turns: input.turns,
    turn: 0,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Read the pages' }] }],
  }),
  initial: 'plan',
  states: {
    plan: {
      invoke: {
        src: 'plan',
        input: ({ context }) => ({ turn: context.turn, last: context.turn === context.turns - 1 }),
        onDone: {
          target: 'act',
          actions: assign(({ context, event }) => ({
            messages: [...context.messages, event.output],
            turn: context.turn + 1,
          })),
        },
      },
    },
    act: {
      always: { guard: ({ context }) => context.turn === context.turns, target: 'done' },
      invoke: {
        src: 'act',
        input: ({ context }) => ({ turn: context.turn - 1 }),
        onDone: {
          target: 'observe',
          actions: assign(({ context, event }) => ({ messages: [...context.messages, event.output] })),
        },
      },
    },
    observe: { always: { target: 'plan' } },
    done: { type: 'final' },
  },
});

/** Runs the bare loop for `turns` turns. */
export async function runBareLoop(turns: number): Promise<void> {
  const actor = createActor(bareLoopMachine, { input: { turns } }).start();
  await toPromise(actor);
  const { messages } = actor.getSnapshot().context;
  if (messages.length !== 2 * turns) throw new Error(`the bare loop ended with ${messages.length} messages`);
}
