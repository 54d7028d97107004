import { z } from 'zod';
import { AgentchartError } from '../agentchart-error.js';
import { contentBlockSchema, usageSchema } from './message-schema.js';
import { type ModelFinishPart, stopReasons } from './model-client.js';

const finishPartSchema = z.object({
  type: z.literal('finish'),
  stopReason: z.enum(stopReasons),
  providerStopReason: z.string().optional(),
  content: z.array(contentBlockSchema),
  usage: usageSchema,
});

/**
 * The `finish` part a model client yielded, checked against the `ModelClient` contract (its
 * content goes into the run's context and checkpoints, its usage into the budgets). A malformed
 * one is the model's failure, not the store's: `MODEL_ERROR` (`model_error`, not recoverable),
 * saying what was wrong.
 */
export function parseFinishPart(part: unknown, modelId: string): ModelFinishPart {
  const parsed = finishPartSchema.safeParse(part);
  if (parsed.success) return parsed.data as ModelFinishPart;
  return fail(modelId, parsed.error);
}

function fail(modelId: string, error: z.ZodError): never {
  throw new AgentchartError({
    code: 'MODEL_ERROR',
    message: `Model '${modelId}' ended its turn with a malformed finish part:\n${z.prettifyError(error)}`,
    details: {
      errorClass: 'model_error',
      recoverable: false,
      issues: error.issues.map(({ path, message }) => ({ path, message })),
    },
  });
}
