import { fromCallback } from 'xstate';
import type { AgentRunEvent, ToolCallsInput } from '../machines/agent-run-types.js';
import type { ToolCallBlock, ToolResultBlock } from '../model/message.js';
import { toRunError } from '../run-error.js';
import { executeToolCall } from '../tools/execute-tool-call.js';
import type { ToolRegistry } from '../tools/tool-registry.js';
import type { RunEventSink } from './run-event-sink.js';

/** What the tool-calls logic needs beyond its input. */
export interface ToolCallsDependencies {
  registry: ToolRegistry;
  runId: string;
  maxConcurrency: number;
  emit: RunEventSink;
  telemetry: boolean;
  /** Awaited before the calls start: with sync durability, until the checkpoints before them are written. */
  beforeEffect(): Promise<void>;
  /** The run's journal of tool results: a call found in it is not executed again. */
  journal: ToolJournal;
}

/** Where the results of a run's tool calls are recorded as they complete. */
export interface ToolJournal {
  get(toolCallId: string): Promise<ToolResultBlock | undefined>;
  put(result: ToolResultBlock): Promise<void>;
}

/**
 * The `toolCalls` actor: runs the tool calls of one turn, at most `maxConcurrency` at a time, and
 * sends each result back as `TOOL_RESULT` as soon as it is known, then `TOOLS_SETTLED`. Each
 * result is written to the journal before it is reported, and a call already in the journal (it
 * completed before the run was restored) is answered from it instead of running again. Stopping the
 * actor (cancel, pause) aborts the calls still running.
 */
export function createToolCallsLogic(dependencies: ToolCallsDependencies) {
  const { registry, runId, maxConcurrency, emit, telemetry, beforeEffect, journal } = dependencies;
  return fromCallback<AgentRunEvent, ToolCallsInput>(({ input, sendBack }) => {
    const controller = new AbortController();
    const queue = [...input.calls];
    // The journal is read while the checkpoints before the calls are still being written.
    const lookups = new Map(input.calls.map((call) => [call.toolCallId, journal.get(call.toolCallId)]));
    for (const lookup of lookups.values()) lookup.catch(() => {});
    const runCall = async (call: ToolCallBlock) => {
      const { toolCallId, toolName } = call;
      const recorded = await lookups.get(toolCallId);
      if (controller.signal.aborted) return;
      if (recorded !== undefined) {
        emit({
          type: 'tool-result',
          turn: input.turn,
          toolCallId,
          toolName,
          output: recorded.output,
          durationMs: 0,
          replayed: true,
        });
        sendBack({ type: 'TOOL_RESULT', result: recorded });
        return;
      }
      const startedAt = performance.now();
      const outcome = await executeToolCall(call, registry, runId, controller.signal);
      if (controller.signal.aborted) return;
      const durationMs = performance.now() - startedAt;
      const result: ToolResultBlock = outcome.ok
        ? { type: 'tool-result', toolCallId, toolName, output: outcome.output, isError: false }
        : { type: 'tool-result', toolCallId, toolName, output: outcome.error.message, isError: true };
      await journal.put(result);
      const base = { turn: input.turn, toolCallId, toolName, durationMs };
      if (outcome.ok) emit({ type: 'tool-result', ...base, output: outcome.output });
      else emit({ type: 'tool-error', ...base, code: outcome.error.code, message: outcome.error.message });
      if (telemetry)
        emit({ type: 'telemetry', name: 'tool-call', durationMs, attributes: { toolName, toolCallId } });
      if (!controller.signal.aborted) sendBack({ type: 'TOOL_RESULT', result });
    };
    const worker = async () => {
      for (let call = queue.shift(); call !== undefined; call = queue.shift()) await runCall(call);
    };
    void (async () => {
      await beforeEffect();
      const workers = Array.from({ length: Math.max(1, Math.min(maxConcurrency, queue.length)) }, worker);
      await Promise.all(workers);
      if (!controller.signal.aborted) sendBack({ type: 'TOOLS_SETTLED' });
    })().catch((error: unknown) => {
      if (!controller.signal.aborted) sendBack({ type: 'FAIL', error: toRunError(error, 'store_error') });
    });
    return () => controller.abort(new Error('tool calls stopped'));
  });
}
