import { z } from 'zod';

const count = z.number().int().nonnegative();

/** A `ToolCallBlock`, as checkpoints and finish parts hold it. */
export const toolCallBlockSchema = z.strictObject({
  type: z.literal('tool-call'),
  toolCallId: z.string().min(1),
  toolName: z.string(),
  input: z.unknown(),
  invalidInput: z.string().optional(),
});

/** A `ToolResultBlock`, as checkpoints hold it. */
export const toolResultBlockSchema = z.strictObject({
  type: z.literal('tool-result'),
  toolCallId: z.string().min(1),
  toolName: z.string(),
  output: z.unknown(),
  isError: z.boolean(),
});

/** One block of a message's content. */
export const contentBlockSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text'), text: z.string() }),
  z.strictObject({ type: z.literal('thinking'), thinking: z.string(), signature: z.string() }),
  z.strictObject({ type: z.literal('redacted-thinking'), data: z.string() }),
  toolCallBlockSchema,
  toolResultBlockSchema,
]);

/** A message of a conversation, as checkpoints hold it. */
export const messageSchema = z.strictObject({
  role: z.enum(['user', 'assistant']),
  content: z.array(contentBlockSchema),
});

/** A `Usage`: token counts, whole and not negative. */
export const usageSchema = z.strictObject({
  inputTokens: count,
  outputTokens: count,
  cacheCreationInputTokens: count,
  cacheReadInputTokens: count,
});
