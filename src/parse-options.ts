import { z } from 'zod';
import { AgentchartError } from './agentchart-error.js';

/**
 * Validates options against their schema: `INVALID_ARGUMENT` naming every wrong (or, with a strict
 * schema, unknown) field, with zod's issues in `details.issues`. `what` names them for the message.
 */
export function parseOptions<T>(what: string, schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new AgentchartError({
    code: 'INVALID_ARGUMENT',
    message: `Invalid ${what}:\n${z.prettifyError(parsed.error)}`,
    details: { issues: parsed.error.issues.map(({ path, message }) => ({ path, message })) },
  });
}
