import { z } from 'zod';
import { AgentchartError } from '../agentchart-error.js';
import type { ToolSpec } from '../model/model-client.js';

/** What a tool's `execute` receives besides its input. */
export interface ToolExecutionContext {
  /** Aborted when the run is cancelled or the tool's `timeoutMs` passes: stop work and return. */
  signal: AbortSignal;
  /** The model's id of this call; stable across retries and restores, so usable as an idempotency key. */
  callId: string;
  /**
   * The same as `callId`. A call that was in flight when its process died runs again after a
   * restore with the same key, so a tool with side effects can deduplicate on it.
   */
  idempotencyKey: string;
  runId: string;
}

/** Decides from a call's input whether it needs approval. (Declared as a method, so that tools of any input fit `Tool`.) */
export type ApprovalRule<Input> = { decide(input: Input): boolean }['decide'];

/** What {@link defineTool} takes. */
export interface ToolDefinition<Input, Output> {
  /** The name the model calls the tool by: letters, digits, `_` and `-`, at most 64 characters. */
  name: string;
  description: string;
  /** A zod schema of the input; the model's arguments are validated against it before `execute`. */
  input: z.ZodType<Input>;
  execute(input: Input, context: ToolExecutionContext): Promise<Output> | Output;
  /** Abort the call and report a timeout to the model after this many milliseconds. */
  timeoutMs?: number;
  /**
   * Ask a human before running a call: always (`true`) or when the predicate says so for the call's
   * (valid) input. The run waits in `waiting_input` until the call is approved or rejected.
   */
  needsApproval?: boolean | ApprovalRule<Input>;
}

/** A tool ready to give to a runtime. Create it with {@link defineTool}. */
export interface Tool<Input = unknown, Output = unknown> extends ToolDefinition<Input, Output> {
  /** The tool as the model is told about it (with the JSON schema made from `input`). */
  readonly spec: ToolSpec;
  /** Set on tools a human answers (`askUser`): the schema the answer must match. */
  readonly answer?: z.ZodType;
}

const toolName = /^[a-zA-Z0-9_-]{1,64}$/;

/**
 * Defines a tool the model can call. Its input schema is written in zod and sent to the model as
 * JSON schema (`z.toJSONSchema`); arguments that do not match are reported back to the model as an
 * error result instead of reaching `execute`.
 *
 * @example
 * ```ts
 * const weather = defineTool({
 *   name: 'get_weather',
 *   description: 'Current weather in a city',
 *   input: z.object({ city: z.string() }),
 *   execute: async ({ city }, { signal }) => fetchWeather(city, { signal }),
 * });
 * ```
 */
export function defineTool<Input, Output>(definition: ToolDefinition<Input, Output>): Tool<Input, Output> {
  if (!toolName.test(definition.name)) {
    throw new AgentchartError({
      code: 'INVALID_ARGUMENT',
      message: `Tool name '${definition.name}' is not valid: use 1 to 64 letters, digits, '_' or '-'`,
    });
  }
  if (definition.timeoutMs !== undefined && !(definition.timeoutMs > 0)) {
    throw new AgentchartError({
      code: 'INVALID_ARGUMENT',
      message: `Tool '${definition.name}': timeoutMs must be a positive number, got ${definition.timeoutMs}`,
    });
  }
  let inputSchema: Record<string, unknown>;
  try {
    const { $schema: _, ...schema } = z.toJSONSchema(definition.input, { io: 'input' });
    inputSchema = schema;
  } catch (cause) {
    throw new AgentchartError({
      code: 'INVALID_ARGUMENT',
      message: `Tool '${definition.name}': its input schema cannot be expressed as JSON schema`,
      cause,
    });
  }
  if (inputSchema.type !== 'object') {
    throw new AgentchartError({
      code: 'INVALID_ARGUMENT',
      message: `Tool '${definition.name}': its input schema must be an object schema (z.object), got type '${String(inputSchema.type)}'`,
    });
  }
  return { ...definition, spec: { name: definition.name, description: definition.description, inputSchema } };
}
