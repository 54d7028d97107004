import { assign, emit, enqueueActions, fromCallback, fromPromise, setup } from 'xstate';
import { toolCallsOf } from '../model/message.js';
import { addUsage, emptyUsage } from '../model/usage.js';
import { toRunError } from '../run-error.js';
import type {
  AgentRunContext,
  AgentRunEmitted,
  AgentRunEvent,
  AgentRunInput,
  ModelTurnInput,
  ModelTurnOutput,
  RunPhase,
  ToolCallsInput,
} from './agent-run-types.js';

/** The context a run starts with. */
export function initialContext({ runId, messages, limits }: AgentRunInput): AgentRunContext {
  return {
    runId,
    messages,
    turn: 0,
    usage: emptyUsage(),
    limits,
    stopReason: undefined,
    pendingToolCalls: [],
    toolResults: [],
    pendingRequests: [],
    pausedFrom: undefined,
    error: undefined,
  };
}

/** The statechart's version; a checkpoint records it, so that a snapshot of another version is refused. */
export const agentRunMachineVersion = 1;

const notProvided = (name: string) => () => {
  throw new Error(`agentRunMachine: actor '${name}' must be provided with machine.provide()`);
};

/**
 * The agent run as a statechart: `plan` (one model turn) -> `act` (its tool calls) -> `observe`
 * (append results, check budgets, loop or stop), with `paused`, `waiting_input` and the final
 * states `done`, `failed` and `cancelled`. Pure: the `modelTurn` and `toolCalls` actors are given
 * with `provide()` by the runtime, and everything it emits is an event for the runtime to stream.
 */
export const agentRunMachine = setup({
  types: {
    context: {} as AgentRunContext,
    events: {} as AgentRunEvent,
    input: {} as AgentRunInput,
    emitted: {} as AgentRunEmitted,
  },
  actors: {
    modelTurn: fromPromise<ModelTurnOutput, ModelTurnInput>(notProvided('modelTurn')),
    toolCalls: fromCallback<AgentRunEvent, ToolCallsInput>(notProvided('toolCalls')),
  },
  guards: {
    wantsTools: (_, output: ModelTurnOutput) =>
      output.stopReason === 'tool_use' && toolCallsOf(output.content).length > 0,
    refused: ({ context }) => context.stopReason === 'refusal',
    cutOff: ({ context }) => context.stopReason === 'max_tokens',
    finished: ({ context }) => context.stopReason !== 'tool_use',
    turnsSpent: ({ context }) => context.turn >= context.limits.maxTurns,
    pausedInAct: ({ context }) => context.pausedFrom === 'act',
    requestsAnswered: ({ context }) => context.pendingRequests.length === 0,
  },
  actions: {
    emitPhase: emit((_, params: { phase: RunPhase; turn: number }) => ({
      type: 'phase' as const,
      ...params,
    })),
    recordTurn: enqueueActions(({ context, enqueue }, output: ModelTurnOutput) => {
      const usage = addUsage(context.usage, output.usage);
      enqueue.assign({
        messages: [...context.messages, { role: 'assistant', content: output.content }],
        turn: context.turn + 1,
        usage,
        stopReason: output.stopReason,
        pendingToolCalls: output.stopReason === 'tool_use' ? toolCallsOf(output.content) : [],
        toolResults: [],
      });
      enqueue.emit({ type: 'usage', turn: context.turn + 1, turnUsage: output.usage, totalUsage: usage });
    }),
    recordToolResult: assign({
      toolResults: ({ context, event }) =>
        event.type === 'TOOL_RESULT' &&
        !context.toolResults.some((result) => result.toolCallId === event.result.toolCallId)
          ? [...context.toolResults, event.result]
          : context.toolResults,
    }),
    appendToolResults: assign(({ context }) => {
      const byId = new Map(context.toolResults.map((result) => [result.toolCallId, result]));
      const content = context.pendingToolCalls.map(
        (call) =>
          byId.get(call.toolCallId) ?? {
            type: 'tool-result' as const,
            toolCallId: call.toolCallId,
            toolName: call.toolName,
            output: 'The tool call ended without a result.',
            isError: true,
          },
      );
      return {
        messages: [...context.messages, { role: 'user' as const, content }],
        pendingToolCalls: [],
        toolResults: [],
      };
    }),
    failWith: assign({
      error: (
        _,
        params: { errorClass: 'refusal' | 'max_tokens' | 'budget_exceeded' | 'internal'; message: string },
      ) => ({
        errorClass: params.errorClass,
        recoverable: params.errorClass === 'budget_exceeded',
        message: params.message,
        details: {},
      }),
    }),
    recordFailure: assign({ error: ({ event }) => (event.type === 'FAIL' ? event.error : undefined) }),
    failWithError: assign({ error: (_, error: unknown) => toRunError(error, 'model_error') }),
    cancel: assign({
      error: ({ event }) => {
        const reason = event.type === 'CANCEL' ? event.reason : 'cancelled';
        return {
          errorClass: 'cancelled' as const,
          recoverable: false,
          message: `Run cancelled: ${reason}`,
          details: { reason },
        };
      },
    }),
    recordPause: enqueueActions(({ enqueue }, params: { from: 'plan' | 'act' }) => {
      enqueue.assign({ pausedFrom: params.from });
      enqueue.emit({ type: 'paused', from: params.from });
    }),
    recordResume: enqueueActions(({ context, enqueue }) => {
      enqueue.emit({ type: 'resumed', to: context.pausedFrom ?? 'plan' });
      enqueue.assign({ pausedFrom: undefined });
    }),
    recordInputResponse: assign({
      pendingRequests: ({ context, event }) =>
        event.type === 'INPUT_RESPONSE'
          ? context.pendingRequests.filter((request) => request.requestId !== event.requestId)
          : context.pendingRequests,
    }),
  },
}).createMachine({
  id: 'agentRun',
  context: ({ input }) => initialContext(input),
  initial: 'plan',
  on: {
    CANCEL: { target: '.cancelled', actions: 'cancel' },
    FAIL: { target: '.failed', actions: 'recordFailure' },
  },
  states: {
    plan: {
      entry: { type: 'emitPhase', params: ({ context }) => ({ phase: 'plan', turn: context.turn + 1 }) },
      invoke: {
        src: 'modelTurn',
        input: ({ context }) => ({ messages: context.messages, turn: context.turn + 1 }),
        onDone: [
          {
            guard: { type: 'wantsTools', params: ({ event }) => event.output },
            target: 'act',
            actions: { type: 'recordTurn', params: ({ event }) => event.output },
          },
          {
            target: 'observe',
            actions: { type: 'recordTurn', params: ({ event }) => event.output },
          },
        ],
        onError: {
          target: 'failed',
          actions: {
            type: 'failWithError',
            params: ({ event }: { event: { error: unknown } }) => event.error,
          },
        },
      },
      on: {
        PAUSE: { target: 'paused', actions: { type: 'recordPause', params: { from: 'plan' } } },
      },
    },
    act: {
      entry: { type: 'emitPhase', params: ({ context }) => ({ phase: 'act', turn: context.turn }) },
      invoke: {
        src: 'toolCalls',
        input: ({ context }) => ({
          calls: context.pendingToolCalls.filter(
            (call) => !context.toolResults.some((result) => result.toolCallId === call.toolCallId),
          ),
          turn: context.turn,
        }),
      },
      on: {
        TOOL_RESULT: { actions: 'recordToolResult' },
        TOOLS_SETTLED: { target: 'observe', actions: 'appendToolResults' },
        PAUSE: { target: 'paused', actions: { type: 'recordPause', params: { from: 'act' } } },
      },
    },
    observe: {
      entry: { type: 'emitPhase', params: ({ context }) => ({ phase: 'observe', turn: context.turn }) },
      always: [
        {
          guard: 'refused',
          target: 'failed',
          actions: {
            type: 'failWith',
            params: { errorClass: 'refusal', message: 'The model refused to continue' },
          },
        },
        {
          guard: 'cutOff',
          target: 'failed',
          actions: {
            type: 'failWith',
            params: ({ context }) => ({
              errorClass: 'max_tokens',
              message: cutOffMessage(context),
            }),
          },
        },
        { guard: 'finished', target: 'done' },
        {
          guard: 'turnsSpent',
          target: 'failed',
          actions: {
            type: 'failWith',
            params: ({ context }) => ({
              errorClass: 'budget_exceeded',
              message: `The run used its ${context.limits.maxTurns} model turns (limits.maxTurns) and the model wants another`,
            }),
          },
        },
        { target: 'plan' },
      ],
    },
    paused: {
      entry: { type: 'emitPhase', params: ({ context }) => ({ phase: 'paused', turn: context.turn }) },
      on: {
        RESUME: [
          { guard: 'pausedInAct', target: 'act', actions: 'recordResume' },
          { target: 'plan', actions: 'recordResume' },
        ],
      },
    },
    waiting_input: {
      entry: { type: 'emitPhase', params: ({ context }) => ({ phase: 'waiting_input', turn: context.turn }) },
      on: { INPUT_RESPONSE: { actions: 'recordInputResponse' } },
      always: { guard: 'requestsAnswered', target: 'act' },
    },
    done: {
      type: 'final',
      entry: { type: 'emitPhase', params: ({ context }) => ({ phase: 'done', turn: context.turn }) },
    },
    failed: {
      type: 'final',
      entry: { type: 'emitPhase', params: ({ context }) => ({ phase: 'failed', turn: context.turn }) },
    },
    cancelled: {
      type: 'final',
      entry: { type: 'emitPhase', params: ({ context }) => ({ phase: 'cancelled', turn: context.turn }) },
    },
  },
});

function cutOffMessage(context: AgentRunContext): string {
  const last = context.messages.at(-1);
  const calls = last ? toolCallsOf(last.content) : [];
  if (calls.length > 0) {
    const names = calls.map((call) => `'${call.toolName}'`).join(', ');
    return `The model hit its max_tokens limit while writing a call of ${names}; the call was cut off and was not executed. Raise maxTokens.`;
  }
  return 'The model hit its max_tokens limit and its answer was cut off. Raise maxTokens.';
}
