import type { RunResult } from '../run-result.js';
import type { RunHandle } from '../runtime/run/run-handle.js';
import type { Runtime } from '../runtime/runtime.js';
import type { CliOutput } from './cli-output.js';

const parkedPhases = new Set(['waiting_input', 'paused']);

/**
 * Streams a run: its text to stdout, a status line to stderr (a TTY), or every event as a JSON
 * line, until it ends, or parks (it then stays in the store, resumable, and what it waits on is
 * printed; the result is undefined).
 */
export async function streamRun(
  runtime: Runtime,
  handle: RunHandle,
  output: CliOutput,
): Promise<RunResult | undefined> {
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

/** The exit code of a command that drove a run: 6 if the run failed or was cancelled, else 0 (ended well, or parked). */
export function exitCodeOfRun(result: RunResult | undefined): number {
  return result?.status === 'failed' || result?.status === 'cancelled' ? 6 : 0;
}
