import { z } from 'zod';
import { AgentchartError } from '../agentchart-error.js';
import { defineTool, type Tool } from './define-tool.js';

/** What {@link askUser} takes. */
export interface AskUserOptions<Answer> {
  /** The schema of the answer; an answer that does not match is refused and the run keeps waiting. */
  answer: z.ZodType<Answer>;
  /** Default `ask_user`. */
  name?: string;
  description?: string;
}

/**
 * A built-in tool, opt-in, that lets the model ask the user a question. A call is never executed:
 * the run goes to `waiting_input` with an `input` request carrying the question, and the answer
 * given with `run.respond(requestId, value)` (checked against `answer`) becomes the call's result.
 *
 * @example
 * ```ts
 * const runtime = createRuntime({ model, tools: [askUser({ answer: z.string() }), ...tools] });
 * run.events$.subscribe((event) => {
 *   if (event.type === 'input-request') void run.respond(event.request.requestId, 'Lisbon');
 * });
 * ```
 */
export function askUser<Answer>(options: AskUserOptions<Answer>): Tool<{ question: string }, Answer> {
  const name = options.name ?? 'ask_user';
  const tool = defineTool<{ question: string }, Answer>({
    name,
    description:
      options.description ??
      'Ask the user a question and wait for the answer. Use it when you need information only the user has.',
    input: z.object({ question: z.string().min(1).describe('The question to ask, in full') }),
    execute: () => {
      throw new AgentchartError({
        code: 'TOOL_FAILED',
        message: `Tool '${name}' is answered by the user, never executed`,
      });
    },
  });
  return { ...tool, answer: options.answer };
}
