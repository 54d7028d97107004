import { AgentchartError } from '../agentchart-error.js';
import type { ToolSpec } from '../model/model-client.js';
import type { Tool } from './define-tool.js';

/** The tools of a runtime, by name. */
export interface ToolRegistry {
  get(name: string): Tool | undefined;
  readonly names: readonly string[];
  readonly specs: readonly ToolSpec[];
}

/** The registry with only the named tools (names it does not hold are refused with `INVALID_ARGUMENT`). */
export function restrictTools(registry: ToolRegistry, names: readonly string[]): ToolRegistry {
  const unknown = names.filter((name) => registry.get(name) === undefined);
  if (unknown.length > 0) {
    throw new AgentchartError({
      code: 'INVALID_ARGUMENT',
      message: `No tool named ${unknown.map((name) => `'${name}'`).join(', ')}. Available tools: ${registry.names.join(', ') || 'none'}.`,
    });
  }
  return createToolRegistry(names.map((name) => registry.get(name) as Tool));
}

/** Indexes tools by name; two tools with one name are refused. */
export function createToolRegistry(tools: readonly Tool[]): ToolRegistry {
  const byName = new Map<string, Tool>();
  for (const tool of tools) {
    if (byName.has(tool.name)) {
      throw new AgentchartError({ code: 'INVALID_ARGUMENT', message: `Two tools are named '${tool.name}'` });
    }
    byName.set(tool.name, tool);
  }
  const all = [...byName.values()];
  return {
    get: (name) => byName.get(name),
    names: all.map((tool) => tool.name),
    specs: all.map((tool) => tool.spec),
  };
}
