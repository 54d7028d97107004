import { AgentchartError } from '../../agentchart-error.js';
import type { RunSettings } from '../../machines/agent-run-types.js';
import type { ModelClient } from '../../model/model-client.js';
import { restrictTools, type ToolRegistry } from '../../tools/tool-registry.js';
import type { RunEnvironment } from './run-environment.js';

/** The model, system prompt and tools of a run: its own settings (a fork's changes) over its runtime's. */
export function runSettings(
  environment: RunEnvironment,
  settings: RunSettings,
): { model: ModelClient; systemPrompt: string | undefined; registry: ToolRegistry } {
  let model = environment.model;
  if (settings.modelId !== undefined && settings.modelId !== model.modelId) {
    const named = environment.models.get(settings.modelId);
    if (named === undefined) {
      throw new AgentchartError({
        code: 'INVALID_ARGUMENT',
        message: `The run uses model '${settings.modelId}', which this runtime does not have: add it to createRuntime({ models })`,
        details: { modelId: settings.modelId },
      });
    }
    model = named;
  }
  const registry =
    settings.toolNames === undefined
      ? environment.registry
      : restrictTools(environment.registry, settings.toolNames);
  return { model, systemPrompt: settings.systemPrompt ?? environment.systemPrompt, registry };
}
