import type { ContentBlock, Message } from './message.js';
import type { ToolSpec } from './model-client.js';

/** A content block as the Messages API takes it (only the kinds agentchart sends). */
export type ApiContentBlock =
  | { type: 'text'; text: string }
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'redacted_thinking'; data: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: 'tool_result'; tool_use_id: string; content: string; is_error: boolean };

/** A message as the Messages API takes it. */
export interface ApiMessage {
  role: 'user' | 'assistant';
  content: ApiContentBlock[];
}

/** Converts agentchart messages to the Messages API's shape (empty text blocks are left out: the API refuses them). */
export function toApiMessages(messages: readonly Message[]): ApiMessage[] {
  return messages.map((message) => ({ role: message.role, content: toApiContent(message.content) }));
}

/** Converts one message's content to the Messages API's shape. */
export function toApiContent(content: readonly ContentBlock[]): ApiContentBlock[] {
  const blocks: ApiContentBlock[] = [];
  for (const block of content) {
    switch (block.type) {
      case 'text':
        if (block.text.length > 0) blocks.push({ type: 'text', text: block.text });
        break;
      case 'thinking':
        blocks.push({ type: 'thinking', thinking: block.thinking, signature: block.signature });
        break;
      case 'redacted-thinking':
        blocks.push({ type: 'redacted_thinking', data: block.data });
        break;
      case 'tool-call':
        // The API takes only an object here: any other input (one that was not valid JSON) goes as `{}`.
        blocks.push({
          type: 'tool_use',
          id: block.toolCallId,
          name: block.toolName,
          input: isObject(block.input) ? block.input : {},
        });
        break;
      case 'tool-result':
        blocks.push({
          type: 'tool_result',
          tool_use_id: block.toolCallId,
          content: toolResultText(block.output),
          is_error: block.isError,
        });
        break;
    }
  }
  return blocks;
}

/** Converts tool specs to the Messages API's `tools` parameter. */
export function toApiTools(tools: readonly ToolSpec[]) {
  return tools.map((tool) => ({
    name: tool.name,
    description: tool.description,
    input_schema: tool.inputSchema,
  }));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toolResultText(output: unknown): string {
  if (typeof output === 'string') return output;
  return output === undefined ? '' : JSON.stringify(output);
}
