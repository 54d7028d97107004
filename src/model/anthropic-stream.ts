import { AgentchartError } from '../agentchart-error.js';
import type { ContentBlock } from './message.js';
import type { ModelStreamPart, StopReason } from './model-client.js';
import { emptyUsage, type Usage } from './usage.js';

/** The raw stream events of the Messages API that matter here (structural: no SDK import). */
export type RawStreamEvent =
  | { type: 'message_start'; message: { usage: RawUsage } }
  | { type: 'content_block_start'; index: number; content_block: RawBlockStart }
  | { type: 'content_block_delta'; index: number; delta: RawDelta }
  | { type: 'content_block_stop'; index: number }
  | { type: 'message_delta'; delta: { stop_reason: string | null }; usage: Partial<RawUsage> }
  | { type: 'message_stop' };

interface RawUsage {
  input_tokens: number | null;
  output_tokens: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}
type RawBlockStart =
  | { type: 'text'; text: string }
  | { type: 'thinking'; thinking: string; signature?: string }
  | { type: 'redacted_thinking'; data: string }
  | { type: 'tool_use'; id: string; name: string }
  | { type: string };
type RawDelta =
  | { type: 'text_delta'; text: string }
  | { type: 'thinking_delta'; thinking: string }
  | { type: 'signature_delta'; signature: string }
  | { type: 'input_json_delta'; partial_json: string }
  | { type: string };

/** What one attempt at a turn produced. `pause_turn` is passed through for the caller to continue. */
export interface AttemptResult {
  stopReason: StopReason | 'pause_turn';
  /** The API's own word, where it differs from `stopReason`. */
  providerStopReason?: string;
  content: ContentBlock[];
  usage: Usage;
}

type Building =
  | { type: 'text'; text: string }
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'redacted-thinking'; data: string }
  | { type: 'tool'; id: string; name: string; json: string; input?: Record<string, unknown> }
  | { type: 'other' };

/** The Messages API's stop reasons, in agentchart's words; any other (a newer one) is `other`. */
const stopReasonsOfApi: Readonly<Record<string, AttemptResult['stopReason']>> = {
  end_turn: 'end_turn',
  tool_use: 'tool_use',
  max_tokens: 'max_tokens',
  stop_sequence: 'stop_sequence',
  refusal: 'refusal',
  pause_turn: 'pause_turn',
  model_context_window_exceeded: 'context_window_exceeded',
};

/**
 * Reads the raw events of one streamed response: yields text and thinking deltas as they come,
 * each tool call once its input is complete and parses, and a `keep-alive` for any other event;
 * returns the whole content, the stop reason (in agentchart's words: a {@link StopReason}, or
 * `pause_turn`) and the usage. A stream that ends before `message_stop` is an error
 * (`MODEL_STREAM_INCOMPLETE`, recoverable): a partial answer must never pass for a whole one.
 */
export async function* readAnthropicStream(
  events: AsyncIterable<RawStreamEvent>,
): AsyncGenerator<ModelStreamPart, AttemptResult> {
  const blocks: Building[] = [];
  const usage = emptyUsage();
  let stopReason: string | null = null;
  let stopped = false;
  for await (const event of events) {
    let part: ModelStreamPart | undefined;
    switch (event.type) {
      case 'message_start':
        Object.assign(usage, usageOf(event.message.usage, usage));
        break;
      case 'content_block_start':
        blocks[event.index] = startBlock(event.content_block);
        break;
      case 'content_block_delta': {
        const block = blocks[event.index];
        const { delta } = event;
        if (block?.type === 'text' && 'text' in delta) {
          block.text += delta.text;
          part = { type: 'text-delta', text: delta.text };
        } else if (block?.type === 'thinking' && 'thinking' in delta) {
          block.thinking += delta.thinking;
          part = { type: 'thinking-delta', thinking: delta.thinking };
        } else if (block?.type === 'thinking' && 'signature' in delta) {
          block.signature += delta.signature;
        } else if (block?.type === 'tool' && 'partial_json' in delta) {
          block.json += delta.partial_json;
        }
        break;
      }
      case 'content_block_stop': {
        const block = blocks[event.index];
        if (block?.type !== 'tool') break;
        const input = parseToolInput(block.json);
        if (input === undefined) break;
        block.input = input;
        part = { type: 'tool-call', toolCallId: block.id, toolName: block.name, input };
        break;
      }
      case 'message_delta':
        stopReason = event.delta.stop_reason ?? stopReason;
        Object.assign(usage, usageOf(event.usage, usage));
        break;
      case 'message_stop':
        stopped = true;
        break;
    }
    // Every event shows the stream is alive (a long tool input streams nothing else for a while).
    yield part ?? { type: 'keep-alive' };
  }
  if (!stopped || stopReason === null) {
    throw new AgentchartError({
      code: 'MODEL_STREAM_INCOMPLETE',
      message: 'The response stream ended before message_stop',
      details: { errorClass: 'network', recoverable: true },
    });
  }
  // A reason agentchart does not know still ends a turn that was billed: its usage counts, and the run fails on it.
  const known = Object.hasOwn(stopReasonsOfApi, stopReason) ? stopReasonsOfApi[stopReason] : undefined;
  return {
    stopReason: known ?? 'other',
    ...(known === stopReason ? {} : { providerStopReason: stopReason }),
    content: finishBlocks(blocks),
    usage,
  };
}

function startBlock(start: RawBlockStart): Building {
  if (start.type === 'text' && 'text' in start) return { type: 'text', text: start.text };
  if (start.type === 'thinking' && 'thinking' in start) {
    return { type: 'thinking', thinking: start.thinking, signature: start.signature ?? '' };
  }
  if (start.type === 'redacted_thinking' && 'data' in start)
    return { type: 'redacted-thinking', data: start.data };
  if (start.type === 'tool_use' && 'id' in start)
    return { type: 'tool', id: start.id, name: start.name, json: '' };
  return { type: 'other' };
}

/** The tool's input, or undefined when it is not a JSON object (cut off, or malformed: kept raw, never run). */
function parseToolInput(json: string): Record<string, unknown> | undefined {
  if (json.trim() === '') return {};
  try {
    const input: unknown = JSON.parse(json);
    return typeof input === 'object' && input !== null && !Array.isArray(input)
      ? (input as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function finishBlocks(blocks: readonly (Building | undefined)[]): ContentBlock[] {
  const content: ContentBlock[] = [];
  for (const block of blocks) {
    if (block === undefined || block.type === 'other') continue;
    if (block.type !== 'tool') content.push(block);
    else {
      const call = { type: 'tool-call' as const, toolCallId: block.id, toolName: block.name };
      content.push(
        block.input === undefined
          ? { ...call, input: {}, invalidInput: block.json }
          : { ...call, input: block.input },
      );
    }
  }
  return content;
}

function usageOf(raw: Partial<RawUsage>, previous: Usage): Usage {
  return {
    inputTokens: raw.input_tokens ?? previous.inputTokens,
    outputTokens: raw.output_tokens ?? previous.outputTokens,
    cacheCreationInputTokens: raw.cache_creation_input_tokens ?? previous.cacheCreationInputTokens,
    cacheReadInputTokens: raw.cache_read_input_tokens ?? previous.cacheReadInputTokens,
  };
}
