import type { ModelClient } from '../model/model-client.js';
import type { CliOutput } from './cli-output.js';

/**
 * The model of a config that has none: Claude when `ANTHROPIC_API_KEY` is set, else a scripted
 * model that says so (and warns once on stderr) when a run asks it for a turn.
 */
export async function defaultModel(output: CliOutput): Promise<ModelClient> {
  if (process.env.ANTHROPIC_API_KEY) {
    const { anthropicModel } = await import('../model/anthropic-model.js');
    return anthropicModel();
  }
  const { scriptedModel } = await import('../testing/scripted-model.js');
  let warned = false;
  return scriptedModel(() => {
    if (!warned) output.err('agentchart: ANTHROPIC_API_KEY is not set; a scripted model answers');
    warned = true;
    return { text: '(scripted model: set ANTHROPIC_API_KEY to continue with Claude)' };
  });
}
