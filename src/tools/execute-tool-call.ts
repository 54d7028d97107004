import { z } from 'zod';
import { AgentchartError } from '../agentchart-error.js';
import { type Clock, systemClock } from '../clock.js';
import { messageOf } from '../message-of.js';
import type { ToolCallBlock } from '../model/message.js';
import type { ToolRegistry } from './tool-registry.js';

/** The outcome of one tool call: its output, or a typed error to report to the model. */
export type ToolCallOutcome = { ok: true; output: unknown } | { ok: false; error: AgentchartError };

/** Where a tool call runs: its run, the run's signal, the clock of its timeout. */
export interface ToolCallScope {
  runId: string;
  runSignal: AbortSignal;
  /** The timeout of a tool that sets none. */
  defaultTimeoutMs?: number;
  clock?: Clock;
}

/**
 * Runs one tool call: finds the tool, validates the model's arguments (a call whose input was not
 * valid JSON never runs), and executes it under the run's signal and the tool's timeout (or the default one). Never throws: every failure is an outcome for the model.
 */
export async function executeToolCall(
  call: ToolCallBlock,
  registry: ToolRegistry,
  { runId, runSignal, defaultTimeoutMs, clock = systemClock }: ToolCallScope,
): Promise<ToolCallOutcome> {
  if (call.invalidInput !== undefined) {
    const written = quoted(call.invalidInput, 2_000);
    const message = `The input of this call of '${call.toolName}' was not valid JSON (a JSON object), so the tool did not run. The input as written: ${written}`;
    return failure('TOOL_INPUT_INVALID', message, call);
  }
  const tool = registry.get(call.toolName);
  if (tool === undefined) {
    const available = registry.names.length > 0 ? registry.names.join(', ') : 'none';
    return failure('TOOL_NOT_FOUND', `Unknown tool '${call.toolName}'. Available tools: ${available}.`, call);
  }
  const parsed = tool.input.safeParse(call.input);
  if (!parsed.success) {
    const issues = z.prettifyError(parsed.error);
    return failure('TOOL_INPUT_INVALID', `Invalid input for tool '${call.toolName}':\n${issues}`, call);
  }
  const controller = new AbortController();
  const abort = () => controller.abort(runSignal.reason);
  if (runSignal.aborted) abort();
  else runSignal.addEventListener('abort', abort, { once: true });
  let timer: unknown;
  try {
    // A run that was aborted before the call began never starts it.
    const execution = Promise.resolve().then(() => {
      if (controller.signal.aborted) throw controller.signal.reason;
      return tool.execute(parsed.data, {
        signal: controller.signal,
        callId: call.toolCallId,
        idempotencyKey: call.toolCallId,
        runId,
      });
    });
    // Aborting the run asks the tool to stop; the call is over only when the tool settles (a tool
    // that returns anyway has run, and its result counts). A timeout does not wait.
    const timeoutMs = tool.timeoutMs ?? defaultTimeoutMs;
    const timedOut = new Promise<never>((_, reject) => {
      if (timeoutMs === undefined) return;
      const message = `Tool '${call.toolName}' timed out after ${timeoutMs} ms`;
      timer = clock.setTimeout(() => {
        const error = new AgentchartError({ code: 'TOOL_TIMEOUT', message, details: toolDetails(call) });
        controller.abort(error);
        reject(error);
      }, timeoutMs);
    });
    const output = await Promise.race([execution, timedOut]);
    return asJson(output, call);
  } catch (cause) {
    if (AgentchartError.isInstance(cause)) return { ok: false, error: cause };
    const reason = messageOf(cause);
    return failure('TOOL_FAILED', `Tool '${call.toolName}' failed: ${reason}`, call, cause);
  } finally {
    if (timer !== undefined) clock.clearTimeout(timer);
    runSignal.removeEventListener('abort', abort);
  }
}

function failure(
  code: 'TOOL_NOT_FOUND' | 'TOOL_INPUT_INVALID' | 'TOOL_FAILED',
  message: string,
  call: ToolCallBlock,
  cause?: unknown,
): ToolCallOutcome {
  return { ok: false, error: new AgentchartError({ code, message, details: toolDetails(call), cause }) };
}

/** The text, cut to its first `max` characters (saying so) when it is longer. */
function quoted(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (the first ${max} of ${text.length} characters)`;
}

function toolDetails(call: ToolCallBlock): Record<string, unknown> {
  return { toolName: call.toolName, toolCallId: call.toolCallId };
}

/**
 * A tool's output as plain JSON (it goes into the run's context and checkpoints, and to the model).
 * `undefined` becomes `null`; values JSON cannot hold (a BigInt, a cycle) fail the call.
 */
function asJson(output: unknown, call: ToolCallBlock): ToolCallOutcome {
  if (output === undefined) return { ok: true, output: null };
  if (
    typeof output === 'string' ||
    typeof output === 'boolean' ||
    output === null ||
    Number.isFinite(output)
  ) {
    return { ok: true, output };
  }
  try {
    return { ok: true, output: JSON.parse(JSON.stringify(output)) };
  } catch (cause) {
    const reason = messageOf(cause);
    return failure(
      'TOOL_FAILED',
      `Tool '${call.toolName}' returned a value that is not JSON: ${reason}`,
      call,
      cause,
    );
  }
}
