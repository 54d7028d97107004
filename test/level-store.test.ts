import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentchartError } from 'agentchart';
import { levelKeyValue, levelStore } from 'agentchart/level';
import { testEnvelope, testMessage } from 'agentchart/testing';
import { Level } from 'level';
import { describe, expect, it } from 'vitest';
import { runModuleScript } from './helpers.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'agentchart-level-'));

describe('levelStore', () => {
  it('refuses a directory another process holds with STORE_LOCKED naming the path', async () => {
    const path = tempDir();
    const store = await levelStore({ path });
    const script = `
      import { levelKeyValue, levelStore } from 'agentchart/level';
      try { await levelStore({ path: ${JSON.stringify(path)} }); console.log('opened'); }
      catch (error) { console.log(JSON.stringify({ code: error.code, message: error.message })); }`;
    const { stdout } = await runModuleScript(script);
    const reported = JSON.parse(stdout) as { code: string; message: string };
    expect(reported.code).toBe('STORE_LOCKED');
    expect(reported.message).toContain(path);
    // The first holder still works.
    await store.createRun({ runId: 'still-mine', forkOf: null, messages: [] });
    expect(await store.getRun('still-mine')).toBeDefined();
    await store.close();
  });

  it('shares one LevelDB instance between stores of one directory in a process', async () => {
    const path = tempDir();
    const first = await levelStore({ path });
    const second = await levelStore({ path });
    await first.createRun({ runId: 'r1', forkOf: null, messages: [] });
    expect(await second.getRun('r1')).toBeDefined();
    await second.close();
    expect(await first.getRun('r1')).toBeDefined();
    await first.close();
  });

  it('orders a write of a key a conditional batch checks after that batch: a fence moved meanwhile is never passed', async () => {
    // The old owner's write is fenced on the epoch key and reads many keys (a slow read); the new
    // owner's claim, started while that read is in flight, checks only the run key and moves the
    // epoch on. The claim waits for the fenced write to finish, so the fenced write is checked
    // against the epoch before the claim, and every later fenced write against the one after.
    const path = tempDir();
    let kv = await levelKeyValue(path);
    await kv.batch([
      { type: 'put', key: 'epoch', value: '1' },
      { type: 'put', key: 'run', value: 'v1' },
    ]);
    for (let round = 0; round < 20; round++)
      await kv.batch(
        Array.from({ length: 5000 }, (_, index) => ({
          type: 'put' as const,
          key: `pad!${round * 5000 + index}x`,
          value: 'p'.repeat(100),
        })),
      );
    await kv.close();
    kv = await levelKeyValue(path); // nothing remembered of the keys
    const absent = Array.from({ length: 9000 }, (_, index) => ({ key: `pad!${index}`, value: undefined }));
    const order: string[] = [];
    const fenced = kv
      .batchIf([{ key: 'epoch', value: '1' }, ...absent], [{ type: 'put', key: 'result!1', value: 'x' }])
      .then((applied) => order.push(`fenced ${applied}`));
    await new Promise((resolve) => setImmediate(resolve)); // its read is in flight
    const claim = kv
      .batchIf(
        [{ key: 'run', value: 'v1' }],
        [
          { type: 'put', key: 'run', value: 'v2' },
          { type: 'put', key: 'epoch', value: '2' },
        ],
      )
      .then((applied) => order.push(`claim ${applied}`));
    await Promise.all([fenced, claim]);
    expect(order).toEqual(['fenced true', 'claim true']);
    expect(await kv.get('epoch')).toBe('2');
    expect(
      await kv.batchIf([{ key: 'epoch', value: '1' }], [{ type: 'put', key: 'result!2', value: 'x' }]),
    ).toBe(false);
    expect(
      await kv.batchIf([{ key: 'epoch', value: '2' }], [{ type: 'put', key: 'result!3', value: 'y' }]),
    ).toBe(true);
    expect(await kv.get('result!2')).toBeUndefined();
    await kv.close();
  });

  it('keeps acknowledged data across reopening', async () => {
    const path = tempDir();
    const store = await levelStore({ path });
    await store.createRun({ runId: 'r1', forkOf: null, messages: [testMessage('hi')] });
    await store.appendCheckpoint(testEnvelope('r1', 0, [testMessage('hi')]), 1);
    await store.close();
    const reopened = await levelStore({ path });
    expect((await reopened.getCheckpoint('r1@0'))?.context.messages).toEqual([testMessage('hi')]);
    await reopened.close();
  });

  it('reports corrupt bytes and a wrong envelope with typed errors, and keeps everything else readable', async () => {
    const path = tempDir();
    const store = await levelStore({ path });
    await store.createRun({ runId: 'r1', forkOf: null, messages: [] });
    for (let step = 0; step < 3; step++)
      await store.appendCheckpoint(testEnvelope('r1', step, [testMessage(`m${step}`)]), step + 1);
    await store.close();

    const raw = new Level<string, string>(path, { valueEncoding: 'utf8' });
    await raw.put('cbody!r1@0', '{"context": {"tur');
    const body = JSON.parse((await raw.get('cbody!r1@1')) ?? '{}');
    body.context.turn = -4;
    await raw.put('cbody!r1@1', JSON.stringify(body));
    await raw.close();

    const reopened = await levelStore({ path });
    const codeOf = async (id: string) =>
      reopened.getCheckpoint(id).then(
        () => 'loaded',
        (error: unknown) => (AgentchartError.isInstance(error) ? error.code : String(error)),
      );
    expect(await codeOf('r1@0')).toBe('CHECKPOINT_CORRUPT');
    expect(await codeOf('r1@1')).toBe('CHECKPOINT_INVALID');
    await expect(reopened.getCheckpoint('r1@1')).rejects.toThrow(/context\.turn/);
    expect(await codeOf('r1@2')).toBe('loaded');
    expect((await reopened.listCheckpoints({ runId: 'r1' })).map((meta) => meta.id)).toEqual([
      'r1@2',
      'r1@1',
      'r1@0',
    ]);
    expect((await reopened.getRun('r1'))?.headCheckpointId).toBe('r1@2');
    await reopened.close();
  });
});
