/** A piece of text the model wrote, or the user sent. */
export interface TextBlock {
  type: 'text';
  text: string;
}

/** The model's visible reasoning; `signature` must be sent back unchanged on the next turn. */
export interface ThinkingBlock {
  type: 'thinking';
  thinking: string;
  signature: string;
}

/** Reasoning the provider returned encrypted; sent back unchanged. */
export interface RedactedThinkingBlock {
  type: 'redacted-thinking';
  data: string;
}

/** A call of one tool, with its complete input, as the model asked for it. */
export interface ToolCallBlock {
  type: 'tool-call';
  toolCallId: string;
  toolName: string;
  input: unknown;
  /**
   * What the model wrote as the input when it was not a JSON object (then `input` is `{}`, which
   * providers accept). Such a call never runs: its result is an error that tells the model so.
   */
  invalidInput?: string;
}

/** What a tool call returned (or why it failed, with `isError`), sent back to the model. */
export interface ToolResultBlock {
  type: 'tool-result';
  toolCallId: string;
  toolName: string;
  output: unknown;
  isError: boolean;
}

/** One block of a message's content. Plain JSON, so that it can live in a checkpoint. */
export type ContentBlock =
  | TextBlock
  | ThinkingBlock
  | RedactedThinkingBlock
  | ToolCallBlock
  | ToolResultBlock;

/** One message of a conversation. */
export interface Message {
  role: 'user' | 'assistant';
  content: ContentBlock[];
}

/** The text blocks of a message's content joined together. */
export function textOf(content: readonly ContentBlock[]): string {
  let text = '';
  for (const block of content) if (block.type === 'text') text += block.text;
  return text;
}

/** The text of the last assistant message: what the model last answered (undefined if it never did). */
export function lastAnswerOf(messages: readonly Message[]): string | undefined {
  const last = messages.findLast((message) => message.role === 'assistant');
  return last === undefined ? undefined : textOf(last.content);
}

/** The tool calls in a message's content, in order. */
export function toolCallsOf(content: readonly ContentBlock[]): ToolCallBlock[] {
  return content.filter((block): block is ToolCallBlock => block.type === 'tool-call');
}

/** How many messages two conversations begin with in common (the same objects, or equal JSON). */
export function sharedPrefix(a: readonly Message[], b: readonly Message[]): number {
  let count = 0;
  while (count < a.length && count < b.length) {
    const left = a[count];
    const right = b[count];
    if (left !== right && JSON.stringify(left) !== JSON.stringify(right)) break;
    count++;
  }
  return count;
}
