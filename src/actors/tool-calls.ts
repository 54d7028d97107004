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
  /** Aborted when the run is cancelled or ends; then the calls in flight are aborted (not when it pauses). */
  runSignal: AbortSignal;
  /** The timeout of a tool that sets none (`timeouts.toolMs`). */
  defaultTimeoutMs: number | undefined;
  /**
   * The run's calls in flight, shared by all its `toolCalls` actors: a call still running from
   * before a pause is awaited by the actor of the resumed phase, never started twice.
   */
  inFlight: Map<string, Promise<ToolResultBlock | undefined>>;
  /** Results of calls that finished after their actor stopped (a pause): the next actor takes them from here. */
  completed: Map<string, ToolResultBlock>;
  /**
   * Whether the journal may hold results this process does not know of (the run was restored, or
   * continues from a stored context). Otherwise it is not read: every result is known in memory.
   */
  journalMayHold: boolean;
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
 * completed before the run was restored, or during a pause) is answered from it instead of running
 * again. Stopping the actor (a pause) lets the calls in flight finish and be journaled; cancelling
 * the run aborts them.
 */
export function createToolCallsLogic(resolve: (actorSystem: object, runId: string) => ToolCallsDependencies) {
  /** Executes a call and journals its result; undefined if the run was cancelled meanwhile. */
  async function execute(
    dependencies: ToolCallsDependencies,
    call: ToolCallBlock,
    turn: number,
  ): Promise<ToolResultBlock | undefined> {
    const { registry, runId, emit, telemetry, journal, runSignal } = dependencies;
    const { toolCallId, toolName } = call;
    const startedAt = performance.now();
    const outcome = await executeToolCall(call, registry, runId, runSignal, dependencies.defaultTimeoutMs);
    if (runSignal.aborted) return undefined;
    const durationMs = performance.now() - startedAt;
    const result: ToolResultBlock = outcome.ok
      ? { type: 'tool-result', toolCallId, toolName, output: outcome.output, isError: false }
      : { type: 'tool-result', toolCallId, toolName, output: outcome.error.message, isError: true };
    await journal.put(result);
    const base = { turn, toolCallId, toolName, durationMs };
    if (outcome.ok) emit({ type: 'tool-result', ...base, output: outcome.output });
    else emit({ type: 'tool-error', ...base, code: outcome.error.code, message: outcome.error.message });
    if (telemetry)
      emit({ type: 'telemetry', name: 'tool-call', durationMs, attributes: { toolName, toolCallId } });
    return result;
  }

  return fromCallback<AgentRunEvent, ToolCallsInput>(({ input, sendBack, system }) => {
    const dependencies = resolve(system, input.runId);
    const { maxConcurrency, emit, beforeEffect, journal, runSignal, inFlight, completed, journalMayHold } =
      dependencies;
    let stopped = false;
    const queue = input.calls.filter((call) => !inFlight.has(call.toolCallId));
    const running = input.calls.filter((call) => inFlight.has(call.toolCallId));
    // Results are looked up while the checkpoints before the calls are still being written.
    const lookup = (toolCallId: string): Promise<ToolResultBlock | undefined> => {
      const known = completed.get(toolCallId);
      completed.delete(toolCallId);
      if (known !== undefined || !journalMayHold) return Promise.resolve(known);
      return journal.get(toolCallId);
    };
    const lookups = new Map(queue.map((call) => [call.toolCallId, lookup(call.toolCallId)]));
    for (const lookup of lookups.values()) lookup.catch(() => {});
    const report = (result: ToolResultBlock | undefined) => {
      if (result !== undefined && !stopped) sendBack({ type: 'TOOL_RESULT', result });
    };
    const runCall = async (call: ToolCallBlock) => {
      const { toolCallId, toolName } = call;
      const recorded = await lookups.get(toolCallId);
      if (stopped) return;
      if (recorded !== undefined) {
        const { output } = recorded;
        emit({
          type: 'tool-result',
          turn: input.turn,
          toolCallId,
          toolName,
          output,
          durationMs: 0,
          replayed: true,
        });
        return report(recorded);
      }
      const execution = execute(dependencies, call, input.turn);
      inFlight.set(toolCallId, execution);
      try {
        const result = await execution;
        if (stopped && result !== undefined) completed.set(toolCallId, result);
        report(result);
      } finally {
        inFlight.delete(toolCallId);
      }
    };
    const worker = async () => {
      for (let call = queue.shift(); call !== undefined; call = queue.shift()) await runCall(call);
    };
    void (async () => {
      await beforeEffect();
      const awaited = running.map(async (call) => report(await inFlight.get(call.toolCallId)));
      const workers = Array.from({ length: Math.max(1, Math.min(maxConcurrency, queue.length)) }, worker);
      await Promise.all([...awaited, ...workers]);
      if (!stopped && !runSignal.aborted) sendBack({ type: 'TOOLS_SETTLED' });
    })().catch((error: unknown) => {
      if (!stopped) sendBack({ type: 'FAIL', error: toRunError(error, 'store_error') });
    });
    return () => {
      stopped = true;
    };
  });
}
