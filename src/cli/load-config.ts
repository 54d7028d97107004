import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RuntimeConfig } from '../runtime/runtime-config.js';
import { UsageError } from './usage-error.js';

/** Imports `--config FILE`: a module whose default export is part of a `createRuntime` config. */
export async function loadConfig(file: string | undefined): Promise<Partial<RuntimeConfig>> {
  if (file === undefined) return {};
  const loaded = (await import(pathToFileURL(resolve(file)).href)) as { default?: Partial<RuntimeConfig> };
  if (typeof loaded.default !== 'object' || loaded.default === null)
    throw new UsageError(`${file} must export a default object (part of a createRuntime config)`);
  return loaded.default;
}
