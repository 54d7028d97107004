import { fromPromise } from 'xstate';

import { AgentchartError } from '../agentchart-error.js';
import type { Clock } from '../clock.js';
import type { ModelTurnInput, ModelTurnOutput } from '../machines/agent-run-types.js';
import { type ToolCallBlock, toolCallsOf } from '../model/message.js';
import type { ModelClient, ModelFinishPart, ToolSpec } from '../model/model-client.js';
import { parseFinishPart } from '../model/parse-finish-part.js';
import { costOf, type ModelPrice } from '../model/prices.js';
import { type RetryPolicy, retryingStream } from '../model/retrying-stream.js';
import type { PendingRequest } from '../pending-request.js';
import type { RunEventSink } from './run-event-sink.js';

/** What the model-turn logic needs beyond its input. */
export interface ModelTurnDependencies {
  model: ModelClient;
  systemPrompt: string | undefined;
  tools: readonly ToolSpec[];
  emit: RunEventSink;
  telemetry: boolean;
  /** What the model costs (none: the turn costs 0). */
  price: ModelPrice | undefined;
  /** The human requests (questions, approvals) the turn's tool calls raise. */
  requestsFor(calls: readonly ToolCallBlock[]): PendingRequest[];
  /** How an attempt that failed with a recoverable error is tried again. */
  retry: RetryPolicy;
  /** Abort and retry an attempt that sends nothing for this long. */
  idleStreamMs: number;
  /** Where backoff delays and the idle watchdog read the time. */
  clock: Clock;
  /** Resolves when the run's record is stored: no model call before. */
  ready: Promise<void>;
  /**
   * Records that a turn starts streaming; true if it had started before (in this process before a
   * pause, or in one that stopped), so its deltas may have gone out and a `retry` is announced.
   */
  startTurn(turn: number): boolean;
}

/**
 * The `modelTurn` actor: streams one turn of the model through {@link retryingStream} (which
 * retries recoverable failures and stalls, each announced by a `retry` event), sends its deltas to
 * the run's events as they arrive and its tool calls once the turn ends with `tool_use` (the calls
 * that will run), checks its finish part, and resolves with the turn's content, stop reason and
 * usage. It is safe to start again (a restored run re-requests the turn). `resolve` gives the
 * dependencies of the run the actor belongs to (one machine serves every run of a runtime).
 */
export function createModelTurnLogic(resolve: (actorSystem: object, runId: string) => ModelTurnDependencies) {
  return fromPromise<ModelTurnOutput, ModelTurnInput>(async ({ input, signal, system: actorSystem }) => {
    const dependencies = resolve(actorSystem, input.runId);
    const { model, systemPrompt, tools, emit, telemetry, price, requestsFor, ready } = dependencies;
    // A run is spawned before its record is stored; it calls the model once it is.
    await ready;
    if (signal.aborted) throw new AgentchartError({ code: 'ABORTED', message: 'The model turn was aborted' });
    const { turn } = input;
    if (dependencies.startTurn(turn)) {
      // A client drops what it holds of this turn (its deltas and tool calls) on a `retry`.
      emit({
        type: 'retry',
        turn,
        attempt: 1,
        delayMs: 0,
        errorClass: 'interrupted',
        message: `Turn ${turn} starts over: it was interrupted (paused, or its process stopped) before it finished`,
      });
    }
    const startedAt = performance.now();
    let firstTokenAt: number | undefined;
    let finish: ModelFinishPart | undefined;
    const request = {
      messages: input.messages,
      tools,
      ...(systemPrompt === undefined ? {} : { system: systemPrompt }),
    };
    const { retry, idleStreamMs, clock } = dependencies;
    for await (const part of retryingStream(model, request, { signal, retry, idleStreamMs, clock })) {
      switch (part.type) {
        case 'text-delta':
          firstTokenAt ??= performance.now();
          emit({ type: 'text-delta', turn, text: part.text });
          break;
        case 'thinking-delta':
          firstTokenAt ??= performance.now();
          emit({ type: 'thinking-delta', turn, thinking: part.thinking });
          break;
        case 'tool-call':
          // Announced from the finish part, once the turn says its calls will run.
          break;
        case 'keep-alive':
          break;
        case 'retry':
          firstTokenAt = undefined;
          emit({ ...part, turn });
          break;
        case 'finish':
          finish = part;
          break;
      }
    }
    if (signal.aborted) throw new AgentchartError({ code: 'ABORTED', message: 'The model turn was aborted' });
    if (finish === undefined) {
      throw new AgentchartError({
        code: 'MODEL_STREAM_INCOMPLETE',
        message: `Model '${model.modelId}' ended turn ${turn} without a finish part`,
        details: { errorClass: 'model_error', recoverable: true },
      });
    }
    finish = parseFinishPart(finish, model.modelId);
    if (telemetry) {
      const durationMs = performance.now() - startedAt;
      const ttft = firstTokenAt === undefined ? -1 : firstTokenAt - startedAt;
      emit({
        type: 'telemetry',
        name: 'model-turn',
        durationMs,
        attributes: {
          turn,
          model: model.modelId,
          timeToFirstTokenMs: ttft,
          outputTokens: finish.usage.outputTokens,
        },
      });
    }
    const { content, stopReason, providerStopReason, usage } = finish;
    // Only the calls that will run (or wait for a human) are announced: a turn that stopped
    // otherwise (cut off at max_tokens, say) runs none of them, and none would get a result.
    const calls = stopReason === 'tool_use' ? toolCallsOf(content) : [];
    for (const { toolCallId, toolName, input: callInput } of calls)
      emit({ type: 'tool-call', turn, toolCallId, toolName, input: callInput });
    const requests = requestsFor(calls);
    return {
      content,
      stopReason,
      ...(providerStopReason === undefined ? {} : { providerStopReason }),
      usage,
      costUsd: costOf(usage, price),
      requests,
    };
  });
}
