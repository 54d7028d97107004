import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AgentchartError,
  type CheckpointEnvelope,
  createRuntime,
  memoryStore,
  type Runtime,
} from 'agentchart';
import { scriptedModel } from 'agentchart/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { adder } from './helpers.js';

const typedCodes = new Set([
  'CHECKPOINT_INVALID',
  'CHECKPOINT_CORRUPT',
  'CHECKPOINT_VERSION_MISMATCH',
  'CHECKPOINT_NOT_FOUND',
  'RUN_ENDED',
  'RUN_ACTIVE',
  'INVALID_ARGUMENT',
]);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every path to a value inside `value`. */
function pathsOf(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const paths: (string | number)[][] = [prefix];
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) paths.push(...pathsOf(item, [...prefix, index]));
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, item] of Object.entries(value)) paths.push(...pathsOf(item, [...prefix, key]));
  }
  return paths;
}

type Mutation =
  | { kind: 'replace'; value: Json }
  | { kind: 'delete' }
  | { kind: 'add'; key: string; value: Json };

/** A copy of `value` with one mutation applied at `path`. */
function mutate(value: Json, path: (string | number)[], mutation: Mutation): Json {
  if (path.length === 0) {
    if (mutation.kind === 'replace') return mutation.value;
    if (mutation.kind === 'add' && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      return { ...value, [mutation.key]: mutation.value };
    }
    return mutation.kind === 'delete' ? null : value;
  }
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    const copy = [...value];
    if (rest.length === 0 && mutation.kind === 'delete') copy.splice(head as number, 1);
    else copy[head as number] = mutate(copy[head as number] as Json, rest, mutation);
    return copy;
  }
  const object = { ...(value as Record<string, Json>) };
  if (rest.length === 0 && mutation.kind === 'delete') delete object[head as string];
  else object[head as string] = mutate(object[head as string] as Json, rest, mutation);
  return object;
}

const mutationArbitrary: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), value: fc.jsonValue() as fc.Arbitrary<Json> }),
  fc.record({ kind: fc.constant('delete' as const) }),
  fc.record({
    kind: fc.constant('add' as const),
    key: fc.string(),
    value: fc.jsonValue() as fc.Arbitrary<Json>,
  }),
);

/** A runtime with a run parked mid-way (in act, with a tool call pending) and that run's checkpoints. */
async function parkedRun(): Promise<{ runtime: Runtime; envelopes: CheckpointEnvelope[] }> {
  const add = adder();
  const model = scriptedModel((_, index) =>
    index === 0
      ? { text: 'Adding.', toolCalls: [{ name: 'add', input: { a: 1, b: 2 } }] }
      : { text: 'Done.' },
  );
  const runtime = createRuntime({ model, tools: [add.tool], store: memoryStore() });
  await runtime.start({ input: 'Add', runId: 'seed' }).result;
  const metas = await runtime.checkpoints.list({ runId: 'seed' });
  const envelopes = await Promise.all(
    metas.filter((meta) => meta.status === 'active').map((meta) => runtime.checkpoints.get(meta.id)),
  );
  return { runtime, envelopes };
}

/** Resumes `from` and ends what started; returns the error code, or 'resumed'. Anything but a typed error fails the test. */
async function attempt(
  runtime: Runtime,
  from: Parameters<Runtime['resume']>[0],
  runId: string,
): Promise<string> {
  try {
    const run = await runtime.resume(from, { runId });
    run.actor.send({ type: 'CANCEL', reason: 'fuzz' });
    const result = await run.result;
    expect(['done', 'failed', 'cancelled']).toContain(result.status);
    return 'resumed';
  } catch (error) {
    if (!AgentchartError.isInstance(error) || !typedCodes.has(error.code)) throw error;
    expect(error.message.length).toBeGreaterThan(0);
    return error.code;
  }
}

describe('resume on bad data', () => {
  it('turns 1,000 mutated envelopes into typed errors (or valid runs), and loses nothing', {
    timeout: 120_000,
  }, async () => {
    const { runtime, envelopes } = await parkedRun();
    const before = await runtime.checkpoints.list({ runId: 'seed' });
    const outcomes = new Map<string, number>();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...envelopes),
        fc.nat(),
        mutationArbitrary,
        async (envelope, pick, mutation) => {
          const json = JSON.parse(JSON.stringify(envelope)) as Json;
          const paths = pathsOf(json);
          const mutated = mutate(json, paths[pick % paths.length] ?? [], mutation);
          const code = await attempt(runtime, mutated as never, `fuzz-${n++}`);
          outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
        },
      ),
      { numRuns: 1000 },
    );
    console.log('outcomes of 1,000 mutated envelopes:', Object.fromEntries(outcomes));
    expect(n).toBeGreaterThanOrEqual(1000);
    expect(outcomes.get('CHECKPOINT_INVALID')).toBeGreaterThan(100);
    // Nothing stored was lost: the seed run's checkpoints are all there and load.
    expect(await runtime.checkpoints.list({ runId: 'seed' })).toEqual(before);
    for (const meta of before) await runtime.checkpoints.get(meta.id);
    await runtime.close();
  });

  it('turns 300 byte-corrupted checkpoint files into typed errors', async () => {
    const { runtime, envelopes } = await parkedRun();
    const dir = mkdtempSync(join(tmpdir(), 'agentchart-fuzz-'));
    const text = JSON.stringify(envelopes[0]);
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        async (flips) => {
          const bytes = Buffer.from(text);
          for (const [at, byte] of flips) bytes[at % bytes.length] = byte;
          const file = join(dir, `corrupt-${n}.json`);
          writeFileSync(file, bytes);
          await attempt(runtime, file, `bytes-${n++}`);
        },
      ),
      { numRuns: 300 },
    );
    await runtime.close();
  });
});
