import {
  type Actor,
  assign,
  emit,
  enqueueActions,
  fromCallback,
  fromPromise,
  type SnapshotFrom,
  setup,
} from 'xstate';
import { toolCallsOf } from '../model/message.js';
import { addUsage, emptyUsage } from '../model/usage.js';
import { type ErrorClass, toRunError } from '../run-error.js';
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
import { budgetOverrun, overrunWith } from './budgets.js';

/** The context a run starts with (or continues from, when `input.context` is given). */
export function initialContext({
  runId,
  messages,
  limits,
  timeouts = {},
  startedAt,
  context,
  session,
}: AgentRunInput): AgentRunContext {
  const start = startedAt ?? Date.now();
  const deadlines = timeouts.totalMs === undefined ? {} : { total: start + timeouts.totalMs };
  if (context !== undefined) return { ...context, runId, limits, timeouts, deadlines, error: undefined };
  return {
    runId,
    messages,
    turn: 0,
    usage: emptyUsage(),
    costUsd: 0,
    limits,
    timeouts,
    deadlines,
    stopReason: undefined,
    providerStopReason: undefined,
    pendingToolCalls: [],
    toolResults: [],
    pendingRequests: [],
    pausedFrom: undefined,
    settings: {},
    session,
    error: undefined,
  };
}

/** The deadlines with the one of `phase` set from `now` (or cleared, if the phase has no timeout). */
export function withPhaseDeadline(
  context: AgentRunContext,
  phase: 'plan' | 'act',
  now: number,
): AgentRunContext['deadlines'] {
  const ms = phase === 'plan' ? context.timeouts.planMs : context.timeouts.actMs;
  return { ...context.deadlines, [phase]: ms === undefined ? undefined : now + ms };
}

/**
 * The statechart's version; a checkpoint records it, so that a snapshot of another version is
 * migrated or refused. Version 2 named its invoked actors `modelTurn` and `toolCalls` (version 1
 * left XState's generated ids, `0.agentRun.plan` and `0.agentRun.act`).
 */
export const agentRunMachineVersion = 2;

const notProvided = (name: string) => () => {
  throw new Error(`agentRunMachine: actor '${name}' must be provided with machine.provide()`);
};

type Paused = 'plan' | 'act' | 'waiting_input';

/**
 * Enqueues the `notify` action with an event. (Actions defined in `setup` cannot name each other in
 * their types, so the name is checked here instead, once.)
 */
const notify = (enqueue: (action: never) => void, event: AgentRunEmitted) =>
  enqueue({ type: 'notify', params: event } as never);

const wantsTools = (output: ModelTurnOutput) =>
  output.stopReason === 'tool_use' && toolCallsOf(output.content).length > 0;

/**
 * The agent run as a statechart: `plan` (one model turn) -> `act` (its tool calls) -> `observe`
 * (append results, check budgets, loop or stop), with `waiting_input` (questions and approvals for
 * a human), `paused`, and the final states `done`, `failed` and `cancelled`. Pure: the `modelTurn`
 * and `toolCalls` actors are given with `provide()` by the runtime, deadlines are absolute times in
 * the context (the runtime arms the timers and sends `TIMEOUT`), and everything it emits is an event
 * for the runtime to stream.
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
    wantsTools: (_, output: ModelTurnOutput) => wantsTools(output),
    needsHuman: (_, output: ModelTurnOutput) => wantsTools(output) && output.requests.length > 0,
    refused: ({ context }) => context.stopReason === 'refusal',
    cutOff: ({ context }) => context.stopReason === 'max_tokens',
    outgrewContext: ({ context }) => context.stopReason === 'context_window_exceeded',
    stoppedUnknown: ({ context }) => context.stopReason === 'other',
    finished: ({ context }) => context.stopReason !== 'tool_use',
    overBudget: ({ context }) => budgetOverrun(context, 'over') !== undefined,
    budgetUsedUp: ({ context }) => budgetOverrun(context, 'usedUp') !== undefined,
    overBudgetWith: ({ context }, output: ModelTurnOutput) => overrunWith(context, output) !== undefined,
    pausedIn: ({ context }, params: { phase: Paused }) => context.pausedFrom === params.phase,
    requestsAnswered: ({ context }) => context.pendingRequests.length === 0,
    hasPendingRequests: ({ context }) => context.pendingRequests.length > 0,
    hasPendingToolCalls: ({ context }) => context.pendingToolCalls.length > 0,
  },
  actions: {
    // Every event the run reports goes through `notify`: an XState `emit` here, and the runtime
    // provides its own to stream the events of runs it spawns (listeners attach too late for those).
    notify: emit((_, event: AgentRunEmitted) => event),
    emitPhase: enqueueActions(({ enqueue }, params: { phase: RunPhase; turn: number }) => {
      notify(enqueue, { type: 'phase', ...params });
    }),
    // The runtime provides its own, reading its clock.
    setPhaseDeadline: assign({
      deadlines: ({ context }, params: { phase: 'plan' | 'act' }) =>
        withPhaseDeadline(context, params.phase, Date.now()),
    }),
    recordTurn: enqueueActions(({ context, enqueue }, output: ModelTurnOutput) => {
      const usage = addUsage(context.usage, output.usage);
      const costUsd = context.costUsd + output.costUsd;
      enqueue.assign({
        messages: [...context.messages, { role: 'assistant', content: output.content }],
        turn: context.turn + 1,
        usage,
        costUsd,
        stopReason: output.stopReason,
        providerStopReason: output.providerStopReason,
        pendingToolCalls: wantsTools(output) ? toolCallsOf(output.content) : [],
        toolResults: [],
        pendingRequests: wantsTools(output) ? output.requests : [],
      });
      notify(enqueue, {
        type: 'usage',
        turn: context.turn + 1,
        turnUsage: output.usage,
        totalUsage: usage,
        turnCostUsd: output.costUsd,
        totalCostUsd: costUsd,
      });
    }),
    emitRequests: enqueueActions(({ context, enqueue }) => {
      for (const request of context.pendingRequests) notify(enqueue, { type: 'input-request', request });
    }),
    recordResponse: assign(({ context, event }) => {
      if (event.type !== 'RESPOND') return {};
      const request = context.pendingRequests.find((pending) => pending.requestId === event.requestId);
      if (request === undefined) return {};
      const { answer } = event;
      const { toolCallId, toolName } = request;
      // An answer to a question is the tool's result; a rejection is an error result; an approval
      // lets the call run in `act`.
      const result =
        answer.kind === 'input'
          ? { type: 'tool-result' as const, toolCallId, toolName, output: answer.value, isError: false }
          : answer.approved
            ? undefined
            : {
                type: 'tool-result' as const,
                toolCallId,
                toolName,
                output: `The user rejected this call: ${answer.reason}`,
                isError: true,
              };
      return {
        pendingRequests: context.pendingRequests.filter((pending) => pending !== request),
        toolResults: result === undefined ? context.toolResults : [...context.toolResults, result],
      };
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
        params: {
          errorClass: ErrorClass;
          message: string;
          recoverable?: boolean;
          details?: Record<string, unknown>;
        },
      ) => ({
        errorClass: params.errorClass,
        recoverable: params.recoverable ?? false,
        message: params.message,
        details: params.details ?? {},
      }),
    }),
    failOverBudget: assign({
      error: ({ context }) => {
        const overrun = budgetOverrun(context, 'usedUp');
        const pending = context.pendingToolCalls.length;
        const message =
          overrun?.limit === 'maxTurns'
            ? `The run used its ${overrun.max} model turns (limits.maxTurns) and the model wants another`
            : `The run ${overrun !== undefined && overrun.used > overrun.max ? 'went over' : 'used up'} limits.${overrun?.limit}: ${overrun?.used} used, ${overrun?.max} allowed${pending > 0 ? `; its ${pending} tool call(s) did not run, and run when it is resumed with raised limits` : ''}`;
        return {
          errorClass: 'budget_exceeded' as const,
          recoverable: true,
          message,
          details: { ...overrun },
        };
      },
    }),
    timeOut: assign({
      error: ({ event }) => {
        const { limit, phase } = event.type === 'TIMEOUT' ? event : { limit: 'total', phase: 'plan' };
        const what = limit === 'total' ? 'The run' : `The ${limit} phase`;
        return {
          errorClass: 'timeout' as const,
          recoverable: true,
          message: `${what} ran out of time (timeouts.${limit}Ms) in ${phase}`,
          details: { limit, phase },
        };
      },
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
    recordPause: enqueueActions(({ enqueue }, params: { from: Paused }) => {
      enqueue.assign({ pausedFrom: params.from });
      notify(enqueue, { type: 'paused', from: params.from });
    }),
    recordResume: enqueueActions(({ context, enqueue }) => {
      notify(enqueue, { type: 'resumed', to: context.pausedFrom ?? 'plan' });
      enqueue.assign({ pausedFrom: undefined });
    }),
  },
}).createMachine({
  id: 'agentRun',
  context: ({ input }) => initialContext(input),
  initial: 'start',
  on: {
    CANCEL: { target: '.cancelled', actions: 'cancel' },
    FAIL: { target: '.failed', actions: 'recordFailure' },
    TIMEOUT: { target: '.failed', actions: 'timeOut' },
  },
  states: {
    // A new run plans; a run continued from a context (after a budget or a timeout) picks up where it
    // was, unless it is still over a budget; no model turn starts on a budget that is used up.
    start: {
      always: [
        { guard: 'overBudget', target: 'failed', actions: 'failOverBudget' },
        { guard: 'hasPendingRequests', target: 'waiting_input' },
        { guard: 'hasPendingToolCalls', target: 'act' },
        { guard: 'budgetUsedUp', target: 'failed', actions: 'failOverBudget' },
        { target: 'plan' },
      ],
    },
    plan: {
      entry: [
        { type: 'emitPhase', params: ({ context }) => ({ phase: 'plan', turn: context.turn + 1 }) },
        { type: 'setPhaseDeadline', params: { phase: 'plan' } },
      ],
      invoke: {
        id: 'modelTurn',
        src: 'modelTurn',
        input: ({ context }) => ({
          runId: context.runId,
          messages: context.messages,
          turn: context.turn + 1,
        }),
        onDone: [
          // A turn that went over a budget ends the run: its tool calls stay pending, and run when
          // the run is resumed with raised limits.
          {
            guard: { type: 'overBudgetWith', params: ({ event }) => event.output },
            target: 'failed',
            actions: [{ type: 'recordTurn', params: ({ event }) => event.output }, 'failOverBudget'],
          },
          {
            guard: { type: 'needsHuman', params: ({ event }) => event.output },
            target: 'waiting_input',
            actions: { type: 'recordTurn', params: ({ event }) => event.output },
          },
          {
            guard: { type: 'wantsTools', params: ({ event }) => event.output },
            target: 'act',
            actions: { type: 'recordTurn', params: ({ event }) => event.output },
          },
          { target: 'observe', actions: { type: 'recordTurn', params: ({ event }) => event.output } },
        ],
        onError: {
          target: 'failed',
          actions: {
            type: 'failWithError',
            params: ({ event }: { event: { error: unknown } }) => event.error,
          },
        },
      },
      on: { PAUSE: { target: 'paused', actions: { type: 'recordPause', params: { from: 'plan' } } } },
    },
    act: {
      entry: [
        { type: 'emitPhase', params: ({ context }) => ({ phase: 'act', turn: context.turn }) },
        { type: 'setPhaseDeadline', params: { phase: 'act' } },
      ],
      invoke: {
        id: 'toolCalls',
        src: 'toolCalls',
        input: ({ context }) => ({
          runId: context.runId,
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
            params: ({ context }) => ({ errorClass: 'max_tokens', message: cutOffMessage(context) }),
          },
        },
        {
          guard: 'outgrewContext',
          target: 'failed',
          actions: {
            type: 'failWith',
            params: {
              errorClass: 'context_window_exceeded',
              message:
                "The conversation no longer fits the model's context window. Fork the run with a shorter conversation, or use a model with a larger window.",
            },
          },
        },
        {
          guard: 'stoppedUnknown',
          target: 'failed',
          actions: {
            type: 'failWith',
            params: ({ context }) => ({
              errorClass: 'model_error',
              message: `The model stopped for a reason agentchart does not know: '${context.providerStopReason ?? 'other'}'`,
              details: { stopReason: context.providerStopReason ?? 'other' },
            }),
          },
        },
        { guard: 'finished', target: 'done' },
        { guard: 'budgetUsedUp', target: 'failed', actions: 'failOverBudget' },
        { target: 'plan' },
      ],
    },
    waiting_input: {
      entry: [
        { type: 'emitPhase', params: ({ context }) => ({ phase: 'waiting_input', turn: context.turn }) },
        'emitRequests',
      ],
      on: {
        RESPOND: { actions: 'recordResponse' },
        PAUSE: { target: 'paused', actions: { type: 'recordPause', params: { from: 'waiting_input' } } },
      },
      always: { guard: 'requestsAnswered', target: 'act' },
    },
    paused: {
      entry: { type: 'emitPhase', params: ({ context }) => ({ phase: 'paused', turn: context.turn }) },
      on: {
        RESUME: [
          { guard: { type: 'pausedIn', params: { phase: 'act' } }, target: 'act', actions: 'recordResume' },
          {
            guard: { type: 'pausedIn', params: { phase: 'waiting_input' } },
            target: 'waiting_input',
            actions: 'recordResume',
          },
          { target: 'plan', actions: 'recordResume' },
        ],
      },
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

/** The XState actor of a run, for users who want to inspect or drive it directly. */
export type AgentRunActor = Actor<typeof agentRunMachine>;

/** A snapshot of the run statechart. */
export type AgentRunSnapshot = SnapshotFrom<typeof agentRunMachine>;

function cutOffMessage(context: AgentRunContext): string {
  const last = context.messages.at(-1);
  const calls = last ? toolCallsOf(last.content) : [];
  if (calls.length > 0) {
    const names = calls.map((call) => `'${call.toolName}'`).join(', ');
    return `The model hit its max_tokens limit while writing a call of ${names}; the call was not executed. Raise maxTokens.`;
  }
  return 'The model hit its max_tokens limit and its answer was cut off. Raise maxTokens.';
}
