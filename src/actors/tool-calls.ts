import { fromCallback } from 'xstate';
import type { AgentRunEvent, ToolCallsInput } from '../machines/agent-run-types.js';
import type { ToolCallBlock, ToolResultBlock } from '../model/message.js';
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
}

/**
 * The `toolCalls` actor: runs the tool calls of one turn, at most `maxConcurrency` at a time, and
 * sends each result back as `TOOL_RESULT` as soon as it is known (the journal of the turn), then
 * `TOOLS_SETTLED`. Stopping it (cancel, pause) aborts the calls still running.
 */
export function createToolCallsLogic({
  registry,
  runId,
  maxConcurrency,
  emit,
  telemetry,
}: ToolCallsDependencies) {
  return fromCallback<AgentRunEvent, ToolCallsInput>(({ input, sendBack }) => {
    const controller = new AbortController();
    const queue = [...input.calls];
    const runCall = async (call: ToolCallBlock) => {
      const startedAt = performance.now();
      const outcome = await executeToolCall(call, registry, runId, controller.signal);
      if (controller.signal.aborted) return;
      const durationMs = performance.now() - startedAt;
      const { toolCallId, toolName } = call;
      const base = { turn: input.turn, toolCallId, toolName, durationMs };
      const result: ToolResultBlock = outcome.ok
        ? { type: 'tool-result', toolCallId, toolName, output: outcome.output, isError: false }
        : { type: 'tool-result', toolCallId, toolName, output: outcome.error.message, isError: true };
      if (outcome.ok) emit({ type: 'tool-result', ...base, output: outcome.output });
      else emit({ type: 'tool-error', ...base, code: outcome.error.code, message: outcome.error.message });
      if (telemetry)
        emit({ type: 'telemetry', name: 'tool-call', durationMs, attributes: { toolName, toolCallId } });
      sendBack({ type: 'TOOL_RESULT', result });
    };
    const worker = async () => {
      for (let call = queue.shift(); call !== undefined; call = queue.shift()) await runCall(call);
    };
    const workers = Array.from({ length: Math.max(1, Math.min(maxConcurrency, queue.length)) }, worker);
    void Promise.all(workers).then(() => {
      if (!controller.signal.aborted) sendBack({ type: 'TOOLS_SETTLED' });
    });
    return () => controller.abort(new Error('tool calls stopped'));
  });
}
