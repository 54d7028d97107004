import type { ToolCallBlock } from '../../model/message.js';
import type { PendingRequest } from '../../pending-request.js';
import type { ToolRegistry } from '../../tools/tool-registry.js';

/**
 * The requests a turn's tool calls raise: a question for each call of an `askUser` tool, and an
 * approval for each call whose tool `needsApproval` (for its input, when that is a predicate).
 * A call whose input does not match its schema, or was not valid JSON, raises none: it fails as invalid instead.
 */
export function requestsFor(calls: readonly ToolCallBlock[], registry: ToolRegistry): PendingRequest[] {
  const requests: PendingRequest[] = [];
  for (const call of calls) {
    const tool = registry.get(call.toolName);
    if (tool === undefined || call.invalidInput !== undefined) continue;
    const parsed = tool.input.safeParse(call.input);
    if (!parsed.success) continue;
    const base = {
      requestId: `req_${call.toolCallId}`,
      toolCallId: call.toolCallId,
      toolName: call.toolName,
      input: call.input,
    };
    if (tool.answer !== undefined) {
      const question = (parsed.data as { question?: unknown }).question;
      requests.push({
        ...base,
        kind: 'input',
        prompt: typeof question === 'string' ? question : JSON.stringify(call.input),
      });
    } else if (wantsApproval(tool.needsApproval, parsed.data)) {
      requests.push({
        ...base,
        kind: 'approval',
        prompt: `Run ${call.toolName} with ${JSON.stringify(call.input)}?`,
      });
    }
  }
  return requests;
}

function wantsApproval(rule: boolean | ((input: unknown) => boolean) | undefined, input: unknown): boolean {
  if (typeof rule !== 'function') return rule === true;
  try {
    return rule(input);
  } catch {
    // A rule that cannot decide asks: a human is the safer default.
    return true;
  }
}
