#!/usr/bin/env node
/**
 * `agentchart`: inspect, export, resume, fork and compare the runs in a store from a terminal.
 * Run `agentchart --help` for the commands. Exit codes: 0 ok; 1 unexpected error; 2 bad usage;
 * 3 not found; 4 store locked by another process; 5 the run is not in a state for that; 6 the run
 * it drove failed or was cancelled.
 */
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { AgentchartError, type AgentchartErrorCode } from './agentchart-error.js';
import { messageOf } from './message-of.js';
import type { ModelClient } from './model/model-client.js';
import { levelStore } from './persistence/level-store.js';
import type { RunResult } from './run-result.js';
import { createRuntime } from './runtime/create-runtime.js';
import type { RunHandle } from './runtime/run/run-handle.js';
import type { Runtime } from './runtime/runtime.js';
import type { RuntimeConfig } from './runtime/runtime-config.js';

const usage = `Usage: agentchart [--store PATH] [--json] [--config FILE] COMMAND

Commands:
  runs ls [--status S] [--limit N]        the runs in the store, newest first
  runs show RUN                           a run's status and what it waits on
  checkpoints ls [--run RUN] [--tag T] [--limit N]
  checkpoints show ID                     a checkpoint and its conversation
  checkpoints export ID FILE              writes it as self-contained JSON (resumable)
  checkpoints rm ID                       deletes a checkpoint
  history RUN                             a run's checkpoints, its parent and its forks
  resume ID                               continues a run (or a checkpoint, or an exported file), streaming it
  fork ID [--system-prompt S] [--input S] starts a new run from a checkpoint, streaming it
  diff RUN_A RUN_B                        where two runs part and how their answers differ
  answer RUN REQUEST VALUE                answers a question (VALUE as JSON, else text), or
                                          'approve' / 'reject' an approval; then streams the run

Options:
  --store PATH    the LevelDB store (default ./.agentchart)
  --json          machine-readable output (JSON; events as JSON lines)
  --config FILE   a module whose default export is part of a createRuntime config: model, tools, ...
                  (the run's tools must be there to resume it; without a model, Claude is used when
                  ANTHROPIC_API_KEY is set, else a scripted model that only says so)

Exit codes: 0 ok, 1 unexpected error, 2 bad usage, 3 not found, 4 store locked,
5 not possible in the run's state, 6 the run failed or was cancelled.`;

/** A mistake in how the command was called (exit code 2). */
class UsageError extends Error {}

const exitCodes: Partial<Record<AgentchartErrorCode, number>> = {
  INVALID_ARGUMENT: 2,
  INPUT_INVALID: 2,
  RUN_NOT_FOUND: 3,
  CHECKPOINT_NOT_FOUND: 3,
  REQUEST_NOT_FOUND: 3,
  STORE_NOT_FOUND: 3,
  STORE_LOCKED: 4,
  RUN_ENDED: 5,
  RUN_ACTIVE: 5,
  CONCURRENCY: 5,
  CHECKPOINT_INVALID: 5,
  CHECKPOINT_CORRUPT: 5,
  CHECKPOINT_VERSION_MISMATCH: 5,
};

interface Output {
  json: boolean;
  out(text: string): void;
  err(text: string): void;
}

/** Pads columns to their widest cell. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, index) =>
    Math.max(cell.length, ...rows.map((row) => (row[index] ?? '').length)),
  );
  const line = (row: string[]) =>
    row
      .map((cell, index) => cell.padEnd(widths[index] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

const positiveInt = (value: string | undefined, name: string): number | undefined => {
  if (value === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(value)) throw new UsageError(`${name} must be a positive integer, got '${value}'`);
  return Number(value);
};

async function loadConfig(file: string | undefined): Promise<Partial<RuntimeConfig>> {
  if (file === undefined) return {};
  const loaded = (await import(pathToFileURL(resolve(file)).href)) as { default?: Partial<RuntimeConfig> };
  if (typeof loaded.default !== 'object' || loaded.default === null)
    throw new UsageError(`${file} must export a default object (part of a createRuntime config)`);
  return loaded.default;
}

async function defaultModel(output: Output): Promise<ModelClient> {
  if (process.env.ANTHROPIC_API_KEY) {
    const { anthropicModel } = await import('./model/anthropic-model.js');
    return anthropicModel();
  }
  const { scriptedModel } = await import('./testing/scripted-model.js');
  let warned = false;
  return scriptedModel(() => {
    if (!warned) output.err('agentchart: ANTHROPIC_API_KEY is not set; a scripted model answers');
    warned = true;
    return { text: '(scripted model: set ANTHROPIC_API_KEY to continue with Claude)' };
  });
}

const parkedPhases = new Set(['waiting_input', 'paused']);

/**
 * Streams a run: its text to stdout, a status line to stderr (a TTY), or every event as a JSON
 * line, until it ends, or parks (it then stays in the store, resumable, and what it waits on is
 * printed; the result is undefined).
 */
async function stream(runtime: Runtime, handle: RunHandle, output: Output): Promise<RunResult | undefined> {
  const live = process.stderr.isTTY === true && !output.json;
  const parked = () => parkedPhases.has(String(handle.actor.getSnapshot().value));
  // The status line: where the run is, and what it has spent.
  let where = '';
  let spent = '';
  if (!parked()) {
    for await (const event of handle) {
      if (output.json) output.out(JSON.stringify(event));
      else if (event.type === 'text-delta') process.stdout.write(event.text);
      else if (event.type === 'tool-call') output.err(`\n→ ${event.toolName} ${JSON.stringify(event.input)}`);
      else if (event.type === 'tool-result')
        output.err(`← ${event.toolName} ${JSON.stringify(event.output)}`);
      else if (event.type === 'tool-error') output.err(`✗ ${event.toolName} ${event.code}: ${event.message}`);
      if (event.type === 'phase') where = `${handle.id} · ${event.phase} · turn ${event.turn}`;
      if (event.type === 'usage')
        spent = ` · $${event.totalCostUsd.toFixed(4)} · ${event.totalUsage.outputTokens} tokens out`;
      if (live && (event.type === 'phase' || event.type === 'usage'))
        process.stderr.write(`\r\x1b[K${where}${spent}`);
      if (event.type === 'phase' && parkedPhases.has(event.phase)) break;
    }
    if (live) process.stderr.write('\r\x1b[K');
  }
  if (handle.actor.getSnapshot().status === 'active' && parked()) {
    const { phase, pendingRequests } = await runtime.status(handle.id);
    if (output.json) output.out(JSON.stringify({ runId: handle.id, phase, pendingRequests }));
    else {
      output.err(`\n${handle.id}: ${phase} (kept in the store)`);
      for (const request of pendingRequests) {
        output.err(`? ${request.kind} ${request.requestId}: ${request.prompt}`);
        output.err(
          `  agentchart answer ${handle.id} ${request.requestId} ${request.kind === 'approval' ? 'approve|reject' : 'VALUE'}`,
        );
      }
    }
    return undefined;
  }
  const result = await handle.result;
  if (!output.json) {
    output.out('');
    output.err(
      `${result.runId}: ${result.status}${result.error ? ` (${result.error.errorClass}: ${result.error.message})` : ''}`,
    );
  }
  return result;
}

const endedBadly = (result: RunResult | undefined) =>
  result?.status === 'failed' || result?.status === 'cancelled' ? 6 : 0;

async function command(runtime: Runtime, args: string[], values: Record<string, unknown>, output: Output) {
  // `runs` and `checkpoints` take a subcommand; the other commands are one word.
  const grouped = args[0] === 'runs' || args[0] === 'checkpoints';
  const name = args.slice(0, grouped ? 2 : 1).join(' ');
  const operands = args.slice(grouped ? 2 : 1);
  const need = (count: number, shape: string) => {
    if (operands.length !== count) throw new UsageError(`usage: agentchart ${shape}`);
    return operands;
  };
  const print = (json: unknown, text: () => string) =>
    output.out(output.json ? JSON.stringify(json, null, 2) : text());

  switch (name) {
    case 'runs ls': {
      need(0, 'runs ls [--status S] [--limit N]');
      const limit = positiveInt(values.limit as string | undefined, '--limit');
      const runs = await runtime.runs.list({
        ...(values.status === undefined ? {} : { status: values.status as never }),
        ...(limit === undefined ? {} : { limit }),
      });
      print(runs, () =>
        table(
          ['RUN', 'STATUS', 'STEP', 'MESSAGES', 'FORK OF', 'UPDATED'],
          runs.map((run) => [
            run.runId,
            run.status,
            String(run.stepNum),
            String(run.messageCount),
            run.forkOf ?? '',
            run.updatedAt,
          ]),
        ),
      );
      return 0;
    }
    case 'runs show': {
      const [runId] = need(1, 'runs show RUN') as [string];
      const [status, record] = await Promise.all([runtime.status(runId), runtime.runs.get(runId)]);
      print({ ...record, ...status }, () =>
        [
          `run       ${runId}`,
          `status    ${status.status} (${status.phase})`,
          `head      ${record?.headCheckpointId ?? '-'} (step ${record?.stepNum})`,
          `messages  ${record?.messageCount}`,
          `fork of   ${record?.forkOf ?? '-'}`,
          `updated   ${record?.updatedAt}`,
          ...status.pendingRequests.map(
            (request) => `waits on  ${request.kind} ${request.requestId}: ${request.prompt}`,
          ),
        ].join('\n'),
      );
      return 0;
    }
    case 'checkpoints ls': {
      need(0, 'checkpoints ls [--run RUN] [--tag T] [--limit N]');
      const limit = positiveInt(values.limit as string | undefined, '--limit');
      const list = await runtime.checkpoints.list({
        ...(values.run === undefined ? {} : { runId: values.run as string }),
        ...(values.tag === undefined ? {} : { tags: [values.tag as string] }),
        ...(limit === undefined ? {} : { limit }),
      });
      print(list, () =>
        table(
          ['CHECKPOINT', 'STEP', 'PHASE', 'STATUS', 'TURN', 'COST', 'SAVED', 'TAGS', 'SUMMARY'],
          list.map((meta) => [
            meta.id,
            String(meta.stepNum),
            meta.phase,
            meta.status,
            String(meta.turn),
            `$${meta.costUsd.toFixed(4)}`,
            meta.savedAt,
            meta.tags.join(','),
            meta.summary.slice(0, 60),
          ]),
        ),
      );
      return 0;
    }
    case 'checkpoints show': {
      const [id] = need(1, 'checkpoints show ID') as [string];
      const envelope = await runtime.checkpoints.get(id);
      print(envelope, () =>
        [
          `checkpoint ${envelope.id} of run ${envelope.runId}, step ${envelope.stepNum}, ${envelope.phase} (${envelope.status})`,
          `saved ${envelope.savedAt}; parent ${envelope.parentId ?? '-'}; tags ${envelope.tags.join(',') || '-'}`,
          '',
          ...envelope.context.messages.map(
            (message) =>
              `${message.role.padEnd(9)} ${message.content
                .map((block) =>
                  block.type === 'text'
                    ? block.text
                    : block.type === 'tool-call'
                      ? `[${block.toolName} ${JSON.stringify(block.input)}]`
                      : block.type === 'tool-result'
                        ? `[result ${JSON.stringify(block.output)}]`
                        : `[${block.type}]`,
                )
                .join(' ')}`,
          ),
        ].join('\n'),
      );
      return 0;
    }
    case 'checkpoints export': {
      const [id, file] = need(2, 'checkpoints export ID FILE') as [string, string];
      const path = await runtime.checkpoints.export(id, resolve(file));
      print({ exported: id, path }, () => `exported ${id} to ${path}`);
      return 0;
    }
    case 'checkpoints rm': {
      const [id] = need(1, 'checkpoints rm ID') as [string];
      const removed = await runtime.checkpoints.delete(id);
      if (!removed)
        throw new AgentchartError({
          code: 'CHECKPOINT_NOT_FOUND',
          message: `No checkpoint '${id}' in the store`,
        });
      print({ removed: id }, () => `removed ${id}`);
      return 0;
    }
    case 'history': {
      const [runId] = need(1, 'history RUN') as [string];
      const history = await runtime.history(runId);
      print(history, () =>
        [
          `run ${history.runId} (${history.status})${history.parent ? `, forked from ${history.parent.checkpointId}` : ''}`,
          table(
            ['STEP', 'PHASE', 'TURN', 'MESSAGES', 'COST', 'SUMMARY'],
            history.checkpoints.map((meta) => [
              String(meta.stepNum),
              meta.phase,
              String(meta.turn),
              String(meta.messageCount),
              `$${meta.costUsd.toFixed(4)}`,
              meta.summary.slice(0, 60),
            ]),
          ),
          ...history.children.map((child) => `fork ${child.runId} from ${child.forkOf}`),
        ].join('\n'),
      );
      return 0;
    }
    case 'resume': {
      const [from] = need(1, 'resume ID') as [string];
      return endedBadly(await stream(runtime, await runtime.resume(from), output));
    }
    case 'fork': {
      const [id] = need(1, 'fork ID [--system-prompt S] [--input S]') as [string];
      const modifications = {
        ...(values['system-prompt'] === undefined ? {} : { systemPrompt: values['system-prompt'] as string }),
        ...(values.input === undefined ? {} : { input: values.input as string }),
      };
      return endedBadly(await stream(runtime, await runtime.fork(id, { modifications }), output));
    }
    case 'diff': {
      const [a, b] = need(2, 'diff RUN_A RUN_B') as [string, string];
      const diff = await runtime.compare(a, b);
      print(diff, () =>
        [
          `common ancestor: ${diff.commonAncestor ?? 'none'}`,
          `diverge at: ${diff.divergence ? `message ${diff.divergence.messageIndex} (turn ${diff.divergence.turn})` : 'nowhere'}`,
          table(
            ['', 'STATUS', 'TURNS', 'CHECKPOINTS', 'TOKENS IN', 'TOKENS OUT', 'COST'],
            [diff.a, diff.b].map((side) => [
              side.runId,
              side.status,
              String(side.turns),
              String(side.checkpoints),
              String(side.usage.inputTokens),
              String(side.usage.outputTokens),
              `$${side.costUsd.toFixed(4)}`,
            ]),
          ),
          ...diff.outputDiff.map(({ op, line }) => `${{ same: ' ', removed: '-', added: '+' }[op]} ${line}`),
        ].join('\n'),
      );
      return 0;
    }
    case 'answer': {
      const [runId, requestId, value] = need(3, 'answer RUN REQUEST VALUE') as [string, string, string];
      const { pendingRequests } = await runtime.status(runId);
      const request = pendingRequests.find((pending) => pending.requestId === requestId);
      if (request === undefined) {
        throw new AgentchartError({
          code: 'REQUEST_NOT_FOUND',
          message: `Run '${runId}' waits on no request '${requestId}' (it waits on: ${pendingRequests.map((pending) => pending.requestId).join(', ') || 'nothing'})`,
        });
      }
      let handle: RunHandle;
      if (request.kind === 'approval') {
        if (value !== 'approve' && value !== 'reject')
          throw new UsageError(`an approval takes 'approve' or 'reject', got '${value}'`);
        handle =
          value === 'approve'
            ? await runtime.approve(runId, requestId)
            : await runtime.reject(runId, requestId, 'rejected from the CLI');
      } else {
        let parsed: unknown = value;
        try {
          parsed = JSON.parse(value);
        } catch {
          // Plain text.
        }
        handle = await runtime.respond(runId, requestId, parsed);
      }
      return endedBadly(await stream(runtime, handle, output));
    }
    default:
      throw new UsageError(`unknown command '${args.join(' ')}'\n\n${usage}`);
  }
}

/** Runs the CLI with `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: string[], output?: Partial<Output>): Promise<number> {
  const json = argv.includes('--json');
  const io: Output = {
    json,
    out: output?.out ?? ((text) => process.stdout.write(`${text}\n`)),
    err: output?.err ?? ((text) => process.stderr.write(`${text}\n`)),
  };
  let runtime: Runtime | undefined;
  let store: Awaited<ReturnType<typeof levelStore>> | undefined;
  let storePath = resolve('.agentchart');
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        store: { type: 'string' },
        json: { type: 'boolean' },
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        status: { type: 'string' },
        limit: { type: 'string' },
        run: { type: 'string' },
        tag: { type: 'string' },
        'system-prompt': { type: 'string' },
        input: { type: 'string' },
      },
    });
    if (values.help === true || positionals.length === 0) {
      io.out(usage);
      return values.help === true ? 0 : 2;
    }
    if (values.store !== undefined) storePath = resolve(values.store);
    const config = await loadConfig(values.config);
    // A command never creates a store: a mistyped --store is an error, not a new empty store.
    store = await levelStore({ path: storePath, create: false });
    runtime = createRuntime({ ...config, model: config.model ?? (await defaultModel(io)), store });
    return await command(runtime, positionals, values, io);
  } catch (error) {
    const code = AgentchartError.isInstance(error) ? error.code : undefined;
    let message = messageOf(error);
    if (code === 'STORE_LOCKED')
      message = `The store at ${storePath} is in use by another process (a running service?). Stop it, or point --store at a copy.`;
    if (code === 'STORE_NOT_FOUND')
      message = `no store at ${storePath} (give --store the folder of an existing store)`;
    const cause = (error as { cause?: unknown }).cause;
    if (
      (code === 'STORE_CORRUPT' || code === 'STORE_ERROR') &&
      cause instanceof Error &&
      !message.includes(cause.message)
    )
      message += ` (cause: ${cause.message})`;
    const exit =
      error instanceof UsageError || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
        ? 2
        : (exitCodes[code as AgentchartErrorCode] ?? 1);
    if (io.json)
      io.out(JSON.stringify({ error: { code: code ?? (exit === 2 ? 'USAGE' : 'INTERNAL'), message } }));
    else io.err(`agentchart: ${code === undefined ? '' : `${code}: `}${message}`);
    return exit;
  } finally {
    await runtime?.close();
    await store?.close();
  }
}

/**
 * True when node runs this file as its program: directly, or through a symlink (npm links a
 * package's bin into `node_modules/.bin`, and `npx` runs that link), so both sides are real paths.
 */
function isProgram(): boolean {
  const program = process.argv[1];
  if (program === undefined) return false;
  try {
    return realpathSync(program) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isProgram()) process.exitCode = await main(process.argv.slice(2));
