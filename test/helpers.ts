import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { defineTool, type RunEvent, type RunEventOf, type RunHandle } from 'agentchart';
import { z } from 'zod';

/** Every event of a run, from its start to `run-end`. */
export async function collect(run: RunHandle): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  for await (const event of run) events.push(event);
  return events;
}

/** A promise and its resolver: a gate a test opens to decide a race. */
export function gate<T = void>(): { promise: Promise<T>; open(value: T): void } {
  let open: (value: T) => void = () => {};
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Resolves with the `count`th event of a run that matches (subscribe before it can happen). */
export function nextEvent<T extends RunEvent>(
  run: Pick<RunHandle, 'events$'>,
  matches: (event: RunEvent) => event is T,
  count?: number,
): Promise<T>;
export function nextEvent(
  run: Pick<RunHandle, 'events$'>,
  matches: (event: RunEvent) => boolean,
  count?: number,
): Promise<RunEvent>;
export function nextEvent(run: Pick<RunHandle, 'events$'>, matches: (event: RunEvent) => boolean, count = 1) {
  return new Promise<RunEvent>((resolve) => {
    let seen = 0;
    const subscription = run.events$.subscribe((event) => {
      if (!matches(event) || ++seen < count) return;
      resolve(event);
      queueMicrotask(() => subscription.unsubscribe());
    });
  });
}

/** The events of one type. */
export function ofType<T extends RunEvent['type']>(events: readonly RunEvent[], type: T): RunEventOf<T>[] {
  return events.filter((event): event is RunEventOf<T> => event.type === type);
}

/** A tool named `send` that takes no input, needs approval, and returns 'sent'. */
export function sendTool() {
  return defineTool({
    name: 'send',
    description: 'Sends',
    input: z.object({}),
    needsApproval: true,
    execute: () => 'sent',
  });
}

/** A tool that adds two numbers and counts its calls. */
export function adder() {
  const calls: { a: number; b: number }[] = [];
  const tool = defineTool({
    name: 'add',
    description: 'Adds two numbers',
    input: z.object({ a: z.number(), b: z.number() }),
    execute: ({ a, b }) => {
      calls.push({ a, b });
      return a + b;
    },
  });
  return { tool, calls };
}

/**
 * Runs an ES module script in a fresh Node process in which `agentchart` resolves to the sources.
 * `preload` modules are imported first (for example a module hook).
 */
export function runModuleScript(
  script: string,
  options: { preload?: string[]; env?: NodeJS.ProcessEnv } = {},
) {
  const preload = (options.preload ?? []).flatMap((module) => ['--import', module]);
  return promisify(execFile)(
    process.execPath,
    [...preload, '--import', 'tsx', '--conditions=agentchart-source', '--input-type=module', '-e', script],
    { env: options.env ?? process.env, timeout: 30_000 },
  );
}
