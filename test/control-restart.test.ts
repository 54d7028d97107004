import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const worker = join(import.meta.dirname, 'fixtures', 'control-worker.ts');

async function inProcess(storePath: string, command: string): Promise<unknown> {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', '--conditions=agentchart-source', worker, storePath, command],
    {
      timeout: 30_000,
    },
  );
  return JSON.parse(stdout);
}

describe('execution control across process restarts', () => {
  it('pauses a run in one process and resumes it in another', async () => {
    const store = join(mkdtempSync(join(tmpdir(), 'agentchart-restart-')), 'store');
    expect(await inProcess(store, 'park-paused')).toMatchObject({
      runId: 'paused-run',
      status: 'paused',
      loaded: true,
    });
    expect(await inProcess(store, 'resume')).toMatchObject({
      status: 'done',
      output: 'Sent to team.',
      usage: { turns: 2 },
    });
  });

  it('takes an approval in another process than the one that asked', async () => {
    const store = join(mkdtempSync(join(tmpdir(), 'agentchart-restart-')), 'store');
    const request = await inProcess(store, 'park-waiting');
    expect(request).toMatchObject({ kind: 'approval', toolName: 'send', input: { to: 'boss' } });
    const answered = (await inProcess(store, 'approve')) as { result: unknown; events: string[] };
    expect(answered.result).toMatchObject({ status: 'done', output: 'Sent to boss.' });
    expect(answered.events).toContain('tool-result');
  });
});
