import { AgentchartError, createRuntime, type ModelClient, memoryStore } from 'agentchart';
import { scriptedModel } from 'agentchart/testing';
import { filter } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';

const code = (expected: string) => expect.objectContaining({ name: 'AgentchartError', code: expected });

describe('runtime API misuse', () => {
  it('refuses a runtime without a model, or with bad limits', () => {
    expect(() => createRuntime({} as { model: ModelClient })).toThrowError(code('INVALID_ARGUMENT'));
    const model = scriptedModel([]);
    expect(() => createRuntime({ store: memoryStore(), model, limits: { maxTurns: 0 } })).toThrowError(
      /maxTurns/,
    );
    expect(() => createRuntime({ store: memoryStore(), model, limits: { maxTurns: 1.5 } })).toThrowError(
      code('INVALID_ARGUMENT'),
    );
    expect(() =>
      createRuntime({ store: memoryStore(), model, limits: { maxTruns: 3 } as never }),
    ).toThrowError(/maxTruns/);
  });

  it('refuses bad start options with INVALID_ARGUMENT naming the field', () => {
    const runtime = createRuntime({ store: memoryStore(), model: scriptedModel([]) });
    expect(() => runtime.start({ input: '' })).toThrowError(/input must be a non-empty string/);
    expect(() => runtime.start({ input: 'x', runId: 'has spaces' })).toThrowError(/runId/);
    expect(() => runtime.start({ input: 'x', signal: 'no' as never })).toThrowError(code('INVALID_ARGUMENT'));
    expect(() => runtime.start(undefined as never)).toThrowError(code('INVALID_ARGUMENT'));
  });

  it('refuses config and options that are wrong or unknown, naming the field', async () => {
    const model = scriptedModel([]);
    const named = (field: string) =>
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining(field) });
    expect(() => createRuntime({ model, tools: 'x' as never })).toThrowError(named('tools'));
    expect(() => createRuntime({ model, tools: [{ name: 'half a tool' }] as never })).toThrowError(
      named('tools'),
    );
    expect(() => createRuntime({ model, systemPromt: 'typo' } as never)).toThrowError(named('systemPromt'));
    const runtime = createRuntime({ store: memoryStore(), model });
    expect(() => runtime.start({ input: 'x', cancelToken: {} } as never)).toThrowError(named('cancelToken'));
    await expect(runtime.resume('r', { cancelToken: {} } as never)).rejects.toMatchObject(
      named('cancelToken'),
    );
    await expect(runtime.session(null as never)).rejects.toMatchObject(named('session id'));
    await expect(runtime.session(42 as never)).rejects.toMatchObject(named('session id'));
    await expect(runtime.session('s', { maxHistroy: 3 } as never)).rejects.toMatchObject(named('maxHistroy'));
    const session = await runtime.session('s');
    await expect(session.run('hi', { onConflcit: 'retry' } as never)).rejects.toMatchObject(
      named('onConflcit'),
    );
    await runtime.close();
  });

  it('keeps going when a subscriber of the events throws: the run, the others and the process', async () => {
    const warnings: unknown[] = [];
    const warn = vi
      .spyOn(console, 'warn')
      .mockImplementation((...args) => void warnings.push(args.join(' ')));
    try {
      const runtime = createRuntime({
        store: memoryStore(),
        model: scriptedModel(() => ({ text: 'hello there' })),
      });
      const throwing = runtime.start({ input: 'a', runId: 'throwing' });
      const other = runtime.start({ input: 'b', runId: 'other' });
      throwing.events$.subscribe(() => {
        throw new Error('subscriber bug');
      });
      throwing.events$.pipe(filter((event) => event.type === 'run-end')).subscribe({
        next: () => {
          throw new Error('piped subscriber bug');
        },
      });
      runtime.events('other').subscribe(() => {
        throw new Error('reader bug');
      });
      expect(await throwing.result).toMatchObject({ status: 'done', output: 'hello there' });
      expect(await other.result).toMatchObject({ status: 'done' });
      // RxJS rethrows a subscriber's error on a timer of 0 ms, set before this one: had it, it would have by now.
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(warnings.join('\n')).toContain('subscriber bug');
      expect(warnings.join('\n')).toContain('piped subscriber bug');
      expect(warnings.join('\n')).toContain('reader bug');
      await runtime.close();
    } finally {
      warn.mockRestore();
    }
  });

  it('refuses a second run with an id in use: at once while active, as data once stored', async () => {
    const runtime = createRuntime({
      store: memoryStore(),
      model: scriptedModel(() => ({ text: 'hi', tokenDelayMs: 5 })),
    });
    const first = runtime.start({ input: 'x', runId: 'same' });
    expect(() => runtime.start({ input: 'y', runId: 'same' })).toThrowError(code('DUPLICATE_RUN_ID'));
    expect(await first.result).toMatchObject({ status: 'done' });
    const again = await runtime.start({ input: 'z', runId: 'same' }).result;
    expect(again).toMatchObject({
      status: 'failed',
      error: { errorClass: 'invalid_request', details: { code: 'DUPLICATE_RUN_ID' } },
    });
    expect(again.error?.message).toContain("A run 'same' already exists in the store");
  });

  it('close() cancels the active runs and refuses new ones', async () => {
    const runtime = createRuntime({
      store: memoryStore(),
      model: scriptedModel(() => ({ text: 'slow '.repeat(20), tokenDelayMs: 20 })),
    });
    const runs = [runtime.start({ input: 'a' }), runtime.start({ input: 'b' })];
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
    const runtime = createRuntime({ store: memoryStore(), model });
    const [failing, fine] = [runtime.start({ input: 'fail' }), runtime.start({ input: 'ok' })];
    expect(await failing.result).toMatchObject({ status: 'failed', error: { message: 'boom' } });
    expect(await fine.result).toMatchObject({ status: 'done', output: 'fine' });
  });
});
