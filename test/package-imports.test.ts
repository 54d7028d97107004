import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runModuleScript } from './helpers.js';

/** The URLs a fresh Node process resolves while importing `specifier`. */
async function importsOf(specifier: string): Promise<string[]> {
  const file = join(mkdtempSync(join(tmpdir(), 'agentchart-imports-')), 'trace.txt');
  const script = `await import(${JSON.stringify(specifier)});`;
  await runModuleScript(script, {
    preload: ['./test/fixtures/trace-imports.mjs'],
    env: { ...process.env, TRACE_IMPORTS_FILE: file },
  });
  return readFileSync(file, 'utf8').split('\n').filter(Boolean);
}

describe('package entry points', () => {
  it('the core import loads none of @anthropic-ai/sdk, level, pg, bullmq and ioredis', async () => {
    const urls = await importsOf('agentchart');
    expect(urls.some((url) => url.includes('/src/index.ts'))).toBe(true);
    expect(urls.some((url) => url.includes('xstate'))).toBe(true);
    expect(
      urls.filter(
        (url) =>
          url.includes('@anthropic-ai/sdk') ||
          /\/(classic-)?level\//.test(url) ||
          /\/node_modules\/(pg(-[a-z]+)?|bullmq|ioredis)\//.test(url),
      ),
    ).toEqual([]);
  });

  it('agentchart/cluster does load bullmq', async () => {
    const urls = await importsOf('agentchart/cluster');
    expect(urls.some((url) => /\/node_modules\/bullmq\//.test(url))).toBe(true);
  });

  it('agentchart/postgres does load pg', async () => {
    const urls = await importsOf('agentchart/postgres');
    expect(urls.some((url) => /\/node_modules\/pg\//.test(url))).toBe(true);
  });

  it('agentchart/anthropic does load the SDK', async () => {
    const urls = await importsOf('agentchart/anthropic');
    expect(urls.some((url) => url.includes('@anthropic-ai/sdk'))).toBe(true);
  });

  it('agentchart/studio loads neither level, the SDK, nor the app (its Preact is bundled into static files)', async () => {
    const urls = await importsOf('agentchart/studio');
    expect(urls.some((url) => url.includes('/src/studio.ts'))).toBe(true);
    expect(
      urls.filter((url) => /@anthropic-ai\/sdk|\/(classic-)?level\/|\/preact\/|\/studio\/app\//.test(url)),
    ).toEqual([]);
  });
});
