import { AgentchartError } from '../agentchart-error.js';
import { type Clock, systemClock } from '../clock.js';
import type { ContentBlock } from '../model/message.js';
import type { ModelClient, ModelRequest, ModelStreamPart, StopReason } from '../model/model-client.js';
import { emptyUsage, type Usage } from '../model/usage.js';
import type { ErrorClass } from '../run-error.js';

/** One turn of a {@link scriptedModel}. */
export interface ScriptedTurn {
  text?: string;
  thinking?: string;
  toolCalls?: { name: string; input: unknown; id?: string }[];
  /** Defaults to `tool_use` when there are tool calls, `end_turn` otherwise. */
  stopReason?: StopReason;
  usage?: Partial<Usage>;
  /**
   * Fail the turn instead (after streaming its text): a message, or an error class and message. A
   * `recoverable` failure is retried by the runtime like any model's: the next turn of the script
   * is the retry.
   */
  error?: string | { errorClass: ErrorClass; message: string; recoverable?: boolean };
  /** Wait this long before each delta (and before the first), honouring the abort signal. */
  tokenDelayMs?: number;
  /**
   * Wait for this before streaming anything (honouring the abort signal): a gate a test opens, so
   * that a race is decided by the test, not by timing.
   */
  gate?: PromiseLike<unknown>;
}

/** A script: a list of turns played in order, or a function of the request and the turn's index. */
export type Script = readonly ScriptedTurn[] | ((request: ModelRequest, turnIndex: number) => ScriptedTurn);

/** A model client that plays a script, and remembers what it was asked. */
export interface ScriptedModel extends ModelClient {
  /** Every request it received, in order (the messages are copied as they were at the time). */
  readonly requests: ModelRequest[];
}

/**
 * A model that plays a script instead of calling an API: for tests, examples, and running without an
 * API key. Text streams in several deltas; tool calls get ids `call_<turn>_<n>` unless given.
 *
 * @example
 * ```ts
 * const model = scriptedModel([
 *   { toolCalls: [{ name: 'get_weather', input: { city: 'Paris' } }] },
 *   { text: 'It is sunny in Paris.' },
 * ]);
 * ```
 */
export function scriptedModel(
  script: Script,
  options: {
    modelId?: string;
    /** The clock of `tokenDelayMs` (default the system's): a test clock makes the model stream as it advances. */
    clock?: Clock;
  } = {},
): ScriptedModel {
  const requests: ModelRequest[] = [];
  const clock = options.clock ?? systemClock;
  return {
    modelId: options.modelId ?? 'scripted',
    requests,
    async *stream(request, { signal }): AsyncIterable<ModelStreamPart> {
      const index = requests.length;
      requests.push({ ...request, messages: [...request.messages] });
      const turn = typeof script === 'function' ? script(request, index) : script[index];
      if (turn === undefined) {
        throw new AgentchartError({
          code: 'MODEL_ERROR',
          message: `The script has no turn ${index} (it has ${(script as readonly ScriptedTurn[]).length})`,
          details: { errorClass: 'model_error', recoverable: false },
        });
      }
      const aborted = () => new AgentchartError({ code: 'ABORTED', message: 'The model turn was aborted' });
      /** Waits for `until` (a gate, or the clock), or rejects at the abort. */
      const wait = (until: (resolve: () => void) => () => void) =>
        new Promise<void>((resolve, reject) => {
          if (signal.aborted) return reject(aborted());
          const onAbort = () => {
            cancel();
            reject(aborted());
          };
          const cancel = until(() => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          });
          signal.addEventListener('abort', onAbort, { once: true });
        });
      const pause = async () => {
        const delay = turn.tokenDelayMs ?? 0;
        if (delay > 0)
          await wait((resolve) => {
            const handle = clock.setTimeout(resolve, delay);
            return () => clock.clearTimeout(handle);
          });
        if (signal.aborted) throw aborted();
      };
      const { gate } = turn;
      if (gate !== undefined)
        await wait((resolve) => {
          void Promise.resolve(gate).then(resolve, resolve);
          return () => {};
        });
      const content: ContentBlock[] = [];
      if (turn.thinking !== undefined) {
        for (const piece of split(turn.thinking)) {
          await pause();
          yield { type: 'thinking-delta', thinking: piece };
        }
        content.push({ type: 'thinking', thinking: turn.thinking, signature: 'scripted' });
      }
      if (turn.text !== undefined) {
        for (const piece of split(turn.text)) {
          await pause();
          yield { type: 'text-delta', text: piece };
        }
        content.push({ type: 'text', text: turn.text });
      }
      if (turn.error !== undefined) {
        const error =
          typeof turn.error === 'string'
            ? { errorClass: 'model_error' as const, message: turn.error }
            : turn.error;
        throw new AgentchartError({
          code: 'MODEL_ERROR',
          message: error.message,
          details: {
            errorClass: error.errorClass,
            recoverable: 'recoverable' in error && error.recoverable === true,
          },
        });
      }
      for (const [n, call] of (turn.toolCalls ?? []).entries()) {
        await pause();
        const part = { toolCallId: call.id ?? `call_${index}_${n}`, toolName: call.name, input: call.input };
        yield { type: 'tool-call', ...part };
        content.push({ type: 'tool-call', ...part });
      }
      const stopReason = turn.stopReason ?? ((turn.toolCalls?.length ?? 0) > 0 ? 'tool_use' : 'end_turn');
      yield { type: 'finish', stopReason, content, usage: { ...emptyUsage(), ...turn.usage } };
    },
  };
}

/** Splits text into deltas of about 16 characters, as a model would stream it. */
function split(text: string): string[] {
  const pieces: string[] = [];
  for (let at = 0; at < text.length; at += 16) pieces.push(text.slice(at, at + 16));
  return pieces.length > 0 ? pieces : [''];
}
