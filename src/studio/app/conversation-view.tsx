import type { ContentBlock, Message } from '../../index.js';
import { formatValue } from './format.js';

/** Outputs longer than this (characters or lines) are folded. */
const foldChars = 400;
const foldLines = 8;

/** Text that is folded in a `<details>` when it is long, with its first line as the summary. */
function Folded({ label, text }: { label: string; text: string }) {
  if (text.length <= foldChars && text.split('\n').length <= foldLines)
    return <pre class="value">{text}</pre>;
  return (
    <details class="folded">
      <summary>
        {label} ({text.length.toLocaleString('en-US')} characters)
      </summary>
      <pre class="value">{text}</pre>
    </details>
  );
}

function Block({ block }: { block: ContentBlock }) {
  switch (block.type) {
    case 'text':
      return <p class="text">{block.text}</p>;
    case 'thinking':
      return (
        <details class="thinking">
          <summary>Thinking</summary>
          <p class="text">{block.thinking}</p>
        </details>
      );
    case 'redacted-thinking':
      return <p class="muted small">(redacted thinking)</p>;
    case 'tool-call':
      return (
        <div class="tool-call">
          <div class="small">
            → call <code>{block.toolName}</code> <span class="muted">{block.toolCallId}</span>
          </div>
          <Folded label="Input" text={block.invalidInput ?? formatValue(block.input)} />
        </div>
      );
    case 'tool-result':
      return (
        <div class={`tool-result${block.isError ? ' is-error' : ''}`}>
          <div class="small">
            ← {block.isError ? 'error from' : 'result of'} <code>{block.toolName}</code>{' '}
            <span class="muted">{block.toolCallId}</span>
          </div>
          <Folded label="Output" text={formatValue(block.output)} />
        </div>
      );
  }
}

/** The conversation at a checkpoint: the system prompt, then each message's text, thinking, tool calls and results. */
export function ConversationView({
  messages,
  systemPrompt,
}: {
  messages: readonly Message[];
  systemPrompt: string | undefined;
}) {
  return (
    <section class="conversation" aria-labelledby="conversation-heading">
      <h3 id="conversation-heading">Conversation ({messages.length} messages)</h3>
      {systemPrompt !== undefined && (
        <div class="message role-system">
          <div class="role">system</div>
          <p class="text">{systemPrompt}</p>
        </div>
      )}
      <ol class="messages">
        {messages.map((message, index) => (
          <li key={index} class={`message role-${message.role}`}>
            <div class="role">
              {message.role} <span class="muted small">#{index}</span>
            </div>
            {message.content.map((block, position) => (
              <Block block={block} key={position} />
            ))}
          </li>
        ))}
      </ol>
    </section>
  );
}
