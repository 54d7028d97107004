/**
 * bench/store-speed: what a run costs, side by side in one process, from a bare XState loop to
 * every store, and prints the table of issue 12 with its targets.
 *
 * The workload: runs of 20 and of 200 turns. Each turn streams 1 KB of text (64 deltas) and makes
 * one tool call whose result is 4 KB; the content is random (incompressible) and new at every
 * step. A step is one turn (plan, act, observe). The figures, each the median of its runs, with the
 * scenarios taken in turn round after round (so that a slow moment of the machine falls on all of
 * them), after untimed runs of each:
 * - `bare`: a bare XState plan/act/observe statechart with `fromPromise` actors (no deltas, no store);
 * - `loop`: the agentchart loop with checkpoints off (`manual`) and no event log, on a memory store;
 * - `memory`, `leveldb`, `postgres`: the runtime's defaults (a checkpoint every step, sync
 *   durability, the event log) on each store. Postgres is measured when `agentchart/postgres`
 *   resolves and its server answers (`AGENTCHART_BENCH_POSTGRES`, default
 *   `postgres://127.0.0.1:5432/test`), and reported as skipped otherwise;
 * - bytes on disk per step of the LevelDB folder after close (allocated blocks, as `du` counts them),
 *   at 20 and 200 turns: every run of that length (untimed ones too) wrote into it, about 2,200
 *   steps at each length, so that LevelDB's unflushed log is an equal part of both;
 * - resume: `runtime.resume()` from the checkpoint where the 200-turn run enters its turn 200, as a
 *   new run, in a fresh runtime on the reopened store (median of 11 after 3 untimed).
 *
 * Prints one JSON line per measurement, then the table. Each line also gives the CPU time per step of
 * the whole process (LevelDB's threads included), steadier than the clock on a busy machine.
 *
 *   npm run bench:store-speed
 *   (profiling one scenario:  node --cpu-prof --import tsx --conditions=agentchart-source \
 *      bench/store-speed.ts --only=leveldb --turns=200 --runs=20; --only takes a list: bare,loop)
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type CheckpointStore, createRuntime, memoryStore, type Runtime } from 'agentchart';
import { levelStore } from 'agentchart/level';
import { scriptedModel } from 'agentchart/testing';
import { runBareLoop } from './lib/bare-loop.js';
import { fetchFreshPage, freshWorkloadModel } from './lib/fresh-workload.js';

const bench = 'store-speed';
const print = (line: Record<string, unknown>) => console.log(JSON.stringify({ bench, ...line }));
const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;
const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

/** A store the bench measures: how to open it (again, for the resume), and how to clean up after. */
interface StoreFactory {
  name: 'memory' | 'leveldb' | 'postgres';
  /** Opens the store of the runs of one length (a new one each call unless `reopen`). */
  open(turns: number, reopen?: boolean): Promise<CheckpointStore>;
  /** The folder of a store on disk, for its size. */
  folder?(turns: number): string;
  dispose?(): Promise<void>;
}

const dir = mkdtempSync(join(tmpdir(), 'agentchart-bench-store-speed-'));

const memoryFactory = (): StoreFactory => {
  const stores = new Map<number, CheckpointStore>();
  return {
    name: 'memory',
    async open(turns, reopen) {
      const existing = stores.get(turns);
      if (reopen && existing !== undefined) return existing;
      const store = memoryStore();
      stores.set(turns, store);
      return store;
    },
  };
};

const levelFactory = (): StoreFactory => ({
  name: 'leveldb',
  open: (turns) => levelStore({ path: join(dir, `level-${turns}`) }),
  folder: (turns) => join(dir, `level-${turns}`),
});

/**
 * The Postgres store, when `agentchart/postgres` resolves and the server answers; otherwise the
 * reason it is skipped. Each bench run uses a schema of its own, dropped at the end.
 */
async function postgresFactory(): Promise<StoreFactory | { skipped: string }> {
  const connectionString = process.env.AGENTCHART_BENCH_POSTGRES ?? 'postgres://127.0.0.1:5432/test';
  const schema = `bench_${process.pid}_${Date.now()}`;
  // Not a literal: the module may not exist in this build (it lights up once the Postgres store is in).
  const specifier = 'agentchart/postgres';
  let postgresStore: (
    connection: { connectionString: string },
    options: { schema: string },
  ) => Promise<CheckpointStore>;
  try {
    ({ postgresStore } = await import(specifier));
    if (typeof postgresStore !== 'function') return { skipped: `${specifier} exports no postgresStore` };
  } catch (error) {
    return { skipped: `${specifier} does not resolve: ${(error as Error).message.split('\n')[0]}` };
  }
  const open = () => postgresStore({ connectionString }, { schema });
  try {
    await (await open()).close();
  } catch (error) {
    return { skipped: `Postgres at ${connectionString} cannot be opened: ${(error as Error).message}` };
  }
  return {
    name: 'postgres',
    open: () => open(),
    async dispose() {
      try {
        const pg = 'pg';
        const { default: Pg } = await import(pg);
        const client = new Pg.Client({ connectionString });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await client.end();
      } catch (error) {
        print({ note: `schema ${schema} left in place: ${(error as Error).message}` });
      }
    },
  };
}

/** A run: wall-clock ms per step, CPU ms per step (every thread of the process), events streamed. */
interface Measured {
  msPerStep: number;
  cpuMsPerStep: number;
  events: number;
}

/** Times `task` (a run of `turns` turns) by the clock and by the process's CPU time. */
async function timed(turns: number, task: () => Promise<number>): Promise<Measured> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const events = await task();
  const elapsed = performance.now() - started;
  const { user, system } = process.cpuUsage(cpu);
  return { msPerStep: elapsed / turns, cpuMsPerStep: (user + system) / 1000 / turns, events };
}

/** One thing measured: a run of `turns` turns, in ms per step. */
interface Scenario {
  name: string;
  /** Runs once; resolves with the ms per step and the events the run streamed. */
  run(runIndex: number): Promise<Measured>;
  close(): Promise<void>;
  steps: number;
}

function bareScenario(turns: number): Scenario {
  const scenario: Scenario = {
    name: 'bare',
    steps: 0,
    async run() {
      const measured = await timed(turns, async () => {
        await runBareLoop(turns);
        return 0;
      });
      scenario.steps += turns;
      return measured;
    },
    close: async () => {},
  };
  return scenario;
}

async function runtimeScenario(
  name: string,
  turns: number,
  store: CheckpointStore,
  options: Partial<Parameters<typeof createRuntime>[0]> = {},
): Promise<Scenario> {
  const model = freshWorkloadModel(turns);
  const runtime = createRuntime({
    model,
    tools: [fetchFreshPage],
    limits: { maxTurns: turns },
    store,
    ...options,
  });
  const tag = Math.random().toString(36).slice(2, 8);
  const scenario: Scenario = {
    name,
    steps: 0,
    async run(runIndex) {
      model.requests.length = 0;
      const measured = await timed(turns, async () => {
        const handle = runtime.start({
          input: 'Read the pages',
          runId: `${name}-${turns}-${tag}-${runIndex}`,
        });
        let events = 0;
        handle.events$.subscribe(() => events++);
        const result = await handle.result;
        if (result.status !== 'done' || result.usage.turns !== turns)
          throw new Error(`${name}: the run ended ${result.status} after ${result.usage.turns} turns`);
        return events;
      });
      scenario.steps += turns;
      return measured;
    },
    async close() {
      await runtime.close();
      await store.close();
    },
  };
  return scenario;
}

/** The bytes a folder takes on disk (allocated blocks, as `du` counts them) and its files' sizes. */
function diskUsage(folder: string): { allocated: number; apparent: number } {
  let allocated = 0;
  let apparent = 0;
  for (const file of readdirSync(folder)) {
    const stat = statSync(join(folder, file));
    allocated += stat.blocks * 512;
    apparent += stat.size;
  }
  return { allocated, apparent };
}

/** Resumes the last run of `runId`'s length from where it enters its last turn, as a new run each time. */
async function resumeLatency(factory: StoreFactory, turns: number, runId: string): Promise<number> {
  const store = await factory.open(turns, true);
  const runtime: Runtime = createRuntime({
    model: scriptedModel(() => ({ text: 'resumed' })),
    tools: [fetchFreshPage],
    store,
  });
  const [last] = (await store.listCheckpoints({ runId })).filter((meta) => meta.phase === 'plan');
  if (last === undefined || last.turn !== turns - 1) throw new Error(`no checkpoint entering turn ${turns}`);
  const times: number[] = [];
  for (let n = 0; n < 14; n++) {
    const started = performance.now();
    const handle = await runtime.resume(last.id, { runId: `resumed-${n}-${runId}` });
    const elapsed = performance.now() - started;
    if (n >= 3) times.push(elapsed);
    const result = await handle.result;
    if (result.status !== 'done') throw new Error(`the resumed run ended ${result.status}`);
  }
  await runtime.close();
  await store.close();
  return median(times);
}

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    turns: { type: 'string' },
    runs: { type: 'string' },
  },
});
const only = args.only?.split(',');
const lengths = args.turns === undefined ? [20, 200] : [Number(args.turns)];
/** Untimed and timed runs per scenario, by run length. */
const plan = (turns: number) =>
  args.runs !== undefined
    ? { warm: 2, timed: Number(args.runs) }
    : turns <= 20
      ? { warm: 10, timed: 101 }
      : { warm: 2, timed: 9 };

const factories: StoreFactory[] = [memoryFactory(), levelFactory()];
const postgres = only === undefined || only.includes('postgres') ? await postgresFactory() : undefined;
if (postgres !== undefined && 'skipped' in postgres) print({ figure: 'postgres', skipped: postgres.skipped });
else if (postgres !== undefined) factories.push(postgres);

interface Figures {
  msPerStep: Map<string, number>;
}
const figures = new Map<number, Figures>();
const disk = new Map<number, { allocated: number; apparent: number; steps: number }>();
const resumeMs = new Map<string, number>();

try {
  for (const turns of lengths) {
    const scenarios: Scenario[] = [
      bareScenario(turns),
      await runtimeScenario('loop', turns, memoryStore(), {
        checkpoint: { policy: 'manual' },
        eventLog: false,
      }),
    ];
    for (const factory of factories)
      scenarios.push(await runtimeScenario(factory.name, turns, await factory.open(turns)));
    const chosen = scenarios.filter((scenario) => only === undefined || only.includes(scenario.name));
    const { warm, timed: runs } = plan(turns);
    const perStep = new Map<string, number[]>(chosen.map((scenario) => [scenario.name, []]));
    const cpuPerStep = new Map<string, number[]>(chosen.map((scenario) => [scenario.name, []]));
    const events = new Map<string, number>();
    let runIndex = 0;
    for (let round = 0; round < warm + runs; round++) {
      for (const scenario of chosen) {
        const measured = await scenario.run(runIndex++);
        if (round >= warm) {
          perStep.get(scenario.name)?.push(measured.msPerStep);
          cpuPerStep.get(scenario.name)?.push(measured.cpuMsPerStep);
        }
        events.set(scenario.name, measured.events);
      }
    }
    const found: Figures = { msPerStep: new Map() };
    for (const scenario of scenarios) await scenario.close();
    for (const scenario of chosen) {
      const msPerStep = round(median(perStep.get(scenario.name) ?? []));
      found.msPerStep.set(scenario.name, msPerStep);
      print({
        figure: scenario.name,
        turns,
        msPerStep,
        cpuMsPerStep: round(median(cpuPerStep.get(scenario.name) ?? [])),
        runs,
        eventsPerRun: events.get(scenario.name),
      });
    }
    figures.set(turns, found);
    const level = factories.find((factory) => factory.name === 'leveldb');
    const levelScenario = chosen.find((scenario) => scenario.name === 'leveldb');
    if (level?.folder !== undefined && levelScenario !== undefined) {
      const usage = diskUsage(level.folder(turns));
      disk.set(turns, { ...usage, steps: levelScenario.steps });
      print({
        figure: 'leveldb-bytes',
        turns,
        bytesPerStep: Math.round(usage.allocated / levelScenario.steps),
        apparentBytesPerStep: Math.round(usage.apparent / levelScenario.steps),
        steps: levelScenario.steps,
      });
    }
    // Resume from the longest runs of each store on disk (or server).
    if (turns === Math.max(...lengths) && turns > 1) {
      for (const factory of factories) {
        if (factory.name === 'memory' || !chosen.some((scenario) => scenario.name === factory.name)) continue;
        const store = await factory.open(turns, true);
        const [lastRun] = (await store.listRuns({ status: 'done' }))
          .filter((run) => run.runId.startsWith(`${factory.name}-${turns}-`))
          .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
        await store.close();
        if (lastRun === undefined) throw new Error(`no ${factory.name} run to resume`);
        const ms = round(await resumeLatency(factory, turns, lastRun.runId), 2);
        resumeMs.set(factory.name, ms);
        print({ figure: `${factory.name}-resume`, fromStep: turns, resumeMs: ms });
      }
    }
  }
} finally {
  for (const factory of factories) await factory.dispose?.();
  rmSync(dir, { recursive: true, force: true });
}

if (only === undefined && lengths.length === 2) printTable();

function printTable() {
  const at = (turns: number, name: string) => figures.get(turns)?.msPerStep.get(name);
  const cell = (value: number | undefined, unit: string) => (value === undefined ? '—' : `${value} ${unit}`);
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? undefined : round(a / b, 2);
  const verdict = (pass: boolean | undefined) => (pass === undefined ? 'skipped' : pass ? 'pass' : 'FAIL');
  const rows: string[][] = [];
  const row = (
    figure: string,
    short: string,
    long: string,
    ratioText: string,
    target: string,
    pass: boolean | undefined,
  ) => rows.push([figure, short, long, ratioText, target, verdict(pass)]);

  const bare = at(200, 'bare');
  const loop = at(200, 'loop');
  row(
    'bare XState plan/act/observe loop, ms/step',
    cell(at(20, 'bare'), 'ms'),
    cell(bare, 'ms'),
    '1×',
    'reference',
    true,
  );
  const loopRatio = ratio(loop, bare);
  row(
    'agentchart loop (checkpoints off, no event log), ms/step',
    cell(at(20, 'loop'), 'ms'),
    cell(loop, 'ms'),
    `${loopRatio}× bare`,
    '≤ 2× bare',
    loopRatio === undefined ? undefined : loopRatio <= 2,
  );
  const memory = at(200, 'memory');
  const memoryRatio = ratio(memory, loop);
  row(
    'memory store, every step (event log on), ms/step',
    cell(at(20, 'memory'), 'ms'),
    cell(memory, 'ms'),
    `${memoryRatio}× loop`,
    '≤ 1.3× loop',
    memoryRatio === undefined ? undefined : memoryRatio <= 1.3,
  );
  const level = at(200, 'leveldb');
  const levelRatio = ratio(level, loop);
  row(
    'LevelDB, every step (sync) and event log, ms/step',
    cell(at(20, 'leveldb'), 'ms'),
    cell(level, 'ms'),
    `${levelRatio}× loop`,
    '< 1.0 ms and ≤ 2.0× loop',
    level === undefined || levelRatio === undefined ? undefined : level < 1 && levelRatio <= 2,
  );
  const pg = at(200, 'postgres');
  row(
    'Postgres, every step (synchronous commit) and event log, ms/step',
    cell(at(20, 'postgres'), 'ms'),
    cell(pg, 'ms'),
    pg === undefined ? '—' : `${ratio(pg, loop)}× loop`,
    '< 3 ms',
    pg === undefined ? undefined : pg < 3,
  );
  const bytes = (turns: number) => {
    const usage = disk.get(turns);
    return usage === undefined ? undefined : Math.round(usage.allocated / usage.steps);
  };
  const short = bytes(20);
  const long = bytes(200);
  const flat = ratio(long, short);
  row(
    'LevelDB bytes on disk per step, after close',
    cell(short, 'B'),
    cell(long, 'B'),
    `${flat}× (200 vs 20)`,
    '≤ 10 KB (10,240 B), flat (≤ 1.1×)',
    short === undefined || long === undefined || flat === undefined
      ? undefined
      : short <= 10_240 && long <= 10_240 && flat <= 1.1,
  );
  for (const name of ['leveldb', 'postgres'] as const) {
    const ms = resumeMs.get(name);
    row(
      `resume from step 200, ${name === 'leveldb' ? 'LevelDB' : 'Postgres'}`,
      '',
      cell(ms, 'ms'),
      '',
      '< 20 ms',
      ms === undefined ? undefined : ms < 20,
    );
  }
  const header = ['figure', '20 turns', '200 turns', 'ratio (200 turns)', 'target', 'result'];
  console.log('');
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const cells of rows) console.log(`| ${cells.join(' | ')} |`);
  console.log('');
}
