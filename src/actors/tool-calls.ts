import { fromCallback } from 'xstate';
import type { Clock } from '../clock.js';
import type { AgentRunEvent, ToolCallsInput } from '../machines/agent-run-types.js';
import type { ToolCallBlock, ToolResultBlock } from '../model/message.js';
import { toRunError } from '../run-error.js';
import { executeToolCall } from '../tools/execute-tool-call.js';
import type { ToolRegistry } from '../tools/tool-registry.js';
import type { RunEventSink } from './run-event-sink.js';
import type { ToolLedger } from './tool-ledger.js';

/** What the tool-calls logic needs beyond its input. */
export interface ToolCallsDependencies {
  registry: ToolRegistry;
  runId: string;
  maxConcurrency: number;
  emit: RunEventSink;
  telemetry: boolean;
  clock: Clock;
  /** Awaited before a call starts: with sync durability, until the checkpoints before it are written. */
  beforeEffect(): Promise<void>;
  /** The run's journal of tool results: a call found in it is not executed again. */
  journal: ToolJournal;
  /** Aborted when the run is cancelled, ends or leaves the process; then the calls in flight are aborted (not when it pauses). */
  runSignal: AbortSignal;
  /** The timeout of a tool that sets none (`timeouts.toolMs`). */
  defaultTimeoutMs: number | undefined;
  /** The run's calls that are running, or returned and not recorded yet: shared by all its `toolCalls` actors. */
  ledger: ToolLedger;
  /**
   * Whether the journal may hold results this process does not know of (the run was restored, or
   * continues from a stored context). Otherwise it is not read: every result is in the ledger.
   */
  journalMayHold: boolean;
}

/** Where the results of a run's tool calls are recorded as they complete. */
export interface ToolJournal {
  get(toolCallId: string): Promise<ToolResultBlock | undefined>;
  put(result: ToolResultBlock): Promise<void>;
}

/**
 * Executes a call and journals its result. A call that returns is journaled even if the run was
 * aborted meanwhile (it happened, and must not happen again); a call that fails because of the
 * abort is abandoned (undefined), and runs again if the run does, with the same idempotency key.
 */
async function execute(
  dependencies: ToolCallsDependencies,
  call: ToolCallBlock,
  turn: number,
): Promise<ToolResultBlock | undefined> {
  const { registry, runId, emit, telemetry, journal, runSignal, clock } = dependencies;
  const { toolCallId, toolName } = call;
  const startedAt = performance.now();
  const outcome = await executeToolCall(call, registry, {
    runId,
    runSignal,
    clock,
    ...(dependencies.defaultTimeoutMs === undefined
      ? {}
      : { defaultTimeoutMs: dependencies.defaultTimeoutMs }),
  });
  if (!outcome.ok && runSignal.aborted) return undefined;
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

/**
 * The `toolCalls` actor: runs the tool calls of one turn, at most `maxConcurrency` at a time, and
 * sends each result back as `TOOL_RESULT` as soon as it is known, then `TOOLS_SETTLED`. A call is
 * looked up before it runs: in the run's ledger (running, or returned and not yet recorded), then
 * in the journal (after a restore); only a call found nowhere is executed. Stopping the actor (a
 * pause) lets the calls in flight finish into the ledger, where the actor of the resumed phase
 * finds them; cancelling the run aborts them.
 */
export function createToolCallsLogic(resolve: (actorSystem: object, runId: string) => ToolCallsDependencies) {
  return fromCallback<AgentRunEvent, ToolCallsInput>(({ input, sendBack, system }) => {
    const dependencies = resolve(system, input.runId);
    const { maxConcurrency, emit, beforeEffect, journal, runSignal, ledger, journalMayHold } = dependencies;
    let stopped = false;
    const report = (result: ToolResultBlock | undefined) => {
      if (result !== undefined && !stopped) sendBack({ type: 'TOOL_RESULT', result });
    };
    // Looked up at once (while the checkpoints before the calls are still being written).
    const journaled = new Map(
      input.calls
        .filter((call) => journalMayHold && ledger.get(call.toolCallId) === undefined)
        .map((call) => [call.toolCallId, journal.get(call.toolCallId)]),
    );
    for (const lookup of journaled.values()) lookup.catch(() => {});

    const runCall = async (call: ToolCallBlock) => {
      const { toolCallId, toolName } = call;
      const known = ledger.get(toolCallId);
      if (known?.status === 'returned') return report(known.result);
      if (known?.status === 'running') return report(await known.settled);
      const recorded = await journaled.get(toolCallId);
      if (recorded !== undefined) {
        ledger.keep(recorded);
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
      if (stopped || runSignal.aborted) return;
      await beforeEffect();
      // Looked up again: while this actor waited, a stopped one may have started the call.
      if (stopped || runSignal.aborted || ledger.get(toolCallId) !== undefined) return runCall(call);
      report(await ledger.run(toolCallId, () => execute(dependencies, call, input.turn)));
    };
    const queue = [...input.calls];
    const worker = async () => {
      for (let call = queue.shift(); call !== undefined && !stopped; call = queue.shift())
        await runCall(call);
    };
    void (async () => {
      // Reported on a later turn of the event loop, never while the statechart starts this actor.
      await null;
      await Promise.all(Array.from({ length: Math.max(1, Math.min(maxConcurrency, queue.length)) }, worker));
      if (!stopped && !runSignal.aborted) sendBack({ type: 'TOOLS_SETTLED' });
    })().catch((error: unknown) => {
      if (!stopped) sendBack({ type: 'FAIL', error: toRunError(error, 'store_error') });
    });
    return () => {
      stopped = true;
    };
  });
}
