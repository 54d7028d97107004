import { setTimeout as sleep } from 'node:timers/promises';
import { AgentchartError, createRuntime, type ModelClient } from 'agentchart';
import { scriptedModel } from 'agentchart/testing';
import { describe, expect, it } from 'vitest';

const code = (expected: string) => expect.objectContaining({ name: 'AgentchartError', code: expected });

describe('runtime API misuse', () => {
  it('refuses a runtime without a model, or with bad limits', () => {
    expect(() => createRuntime({} as { model: ModelClient })).toThrowError(code('INVALID_ARGUMENT'));
    const model = scriptedModel([]);
    expect(() => createRuntime({ model, limits: { maxTurns: 0 } })).toThrowError(/maxTurns/);
    expect(() => createRuntime({ model, limits: { maxTurns: 1.5 } })).toThrowError(code('INVALID_ARGUMENT'));
    expect(() => createRuntime({ model, limits: { maxTruns: 3 } as never })).toThrowError(/maxTruns/);
  });

  it('refuses bad start options with INVALID_ARGUMENT naming the field', () => {
    const runtime = createRuntime({ model: scriptedModel([]) });
    expect(() => runtime.start({ input: '' })).toThrowError(/input must be a non-empty string/);
    expect(() => runtime.start({ input: 'x', runId: 'has spaces' })).toThrowError(/runId/);
    expect(() => runtime.start({ input: 'x', signal: 'no' as never })).toThrowError(code('INVALID_ARGUMENT'));
    expect(() => runtime.start(undefined as never)).toThrowError(code('INVALID_ARGUMENT'));
  });

  it('refuses a second active run with the same id, and allows it once the first ended', async () => {
    const runtime = createRuntime({ model: scriptedModel(() => ({ text: 'hi', tokenDelayMs: 5 })) });
    const first = runtime.start({ input: 'x', runId: 'same' });
    expect(() => runtime.start({ input: 'y', runId: 'same' })).toThrowError(code('DUPLICATE_RUN_ID'));
    await first.result;
    await expect(runtime.start({ input: 'z', runId: 'same' }).result).resolves.toMatchObject({
      status: 'done',
    });
  });

  it('close() cancels the active runs and refuses new ones', async () => {
    const runtime = createRuntime({
      model: scriptedModel(() => ({ text: 'slow '.repeat(20), tokenDelayMs: 20 })),
    });
    const runs = [runtime.start({ input: 'a' }), runtime.start({ input: 'b' })];
    await sleep(5);
    await runtime.close();
    for (const run of runs) {
      expect(await run.result).toMatchObject({
        status: 'cancelled',
        error: { details: { reason: 'runtime closed' } },
      });
    }
    let thrown: unknown;
    try {
      runtime.start({ input: 'c' });
    } catch (error) {
      thrown = error;
    }
    expect(AgentchartError.isInstance(thrown) && thrown.code).toBe('RUNTIME_CLOSED');
  });

  it('a run that fails does not disturb another run', async () => {
    const model = scriptedModel((request) => {
      const first = request.messages[0]?.content[0];
      const asked = first?.type === 'text' ? first.text : '';
      return asked === 'fail' ? { error: 'boom' } : { text: 'fine', tokenDelayMs: 2 };
    });
    const runtime = createRuntime({ model });
    const [failing, fine] = [runtime.start({ input: 'fail' }), runtime.start({ input: 'ok' })];
    expect(await failing.result).toMatchObject({ status: 'failed', error: { message: 'boom' } });
    expect(await fine.result).toMatchObject({ status: 'done', output: 'fine' });
  });
});
