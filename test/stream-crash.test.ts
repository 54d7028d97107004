/**
 * No event seq is handed out twice for a run, across any number of crashes, and a client that
 * reconnects with the last seq it saw assembles exactly the output: the process streaming a run is
 * killed with SIGKILL at random points mid-stream, 20 times, and the client reconnects each time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { textOf } from 'agentchart';
import { levelStore } from 'agentchart/level';
import { describe, expect, it } from 'vitest';
import { streamTurns, turnText } from './fixtures/stream-plan.js';

const fixture = join(import.meta.dirname, 'fixtures', 'stream-service.ts');

interface Service {
  child: ChildProcess;
  url: Promise<string>;
  exited: Promise<number | null>;
}

function startService(storePath: string): Service {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=agentchart-source', fixture, storePath],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const url = new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk) => {
      output += String(chunk);
      const found = /listening (\S+)/.exec(output);
      if (found?.[1] !== undefined) resolve(found[1]);
    });
    child.stderr?.on('data', (chunk) => {
      output += String(chunk);
    });
    child.once('exit', () => reject(new Error(`the service exited before listening:\n${output}`)));
  });
  url.catch(() => {});
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, url, exited };
}

interface SseEvent {
  seq: number;
  type: string;
  data: Record<string, unknown>;
}

/** What a client holds: the text of each turn, by the one rule (on `retry` for turn T, drop turn T). */
class Client {
  readonly texts = new Map<number, string>();
  readonly seqs: number[] = [];
  lastSeq: number | undefined;
  ended = false;
  runStarts = 0;

  apply(event: SseEvent): void {
    expect(event.seq, 'seqs only go up').toBeGreaterThan(this.lastSeq ?? -1);
    this.lastSeq = event.seq;
    this.seqs.push(event.seq);
    const turn = event.data.turn as number;
    if (event.type === 'run-start') this.runStarts++;
    if (event.type === 'retry') this.texts.delete(turn);
    if (event.type === 'text-delta')
      this.texts.set(turn, (this.texts.get(turn) ?? '') + String(event.data.text));
    if (event.type === 'run-end') this.ended = true;
  }
}

/** Follows the run's events until the stream ends or breaks (the service was killed). */
async function follow(url: string, runId: string, client: Client, onEvent: () => void): Promise<void> {
  const headers: Record<string, string> =
    client.lastSeq === undefined ? {} : { 'last-event-id': String(client.lastSeq) };
  let response: Response;
  try {
    response = await fetch(`${url}/runs/${runId}/events`, { headers });
  } catch {
    return;
  }
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of response.body as ReadableStream<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const fields = new Map<string, string>();
        for (const line of frame.split('\n')) {
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          fields.set(line.slice(0, colon), line.slice(colon + 2));
        }
        if (!fields.has('id')) continue;
        const data = JSON.parse(fields.get('data') ?? '{}') as Record<string, unknown>;
        client.apply({ seq: Number(fields.get('id')), type: String(fields.get('event')), data });
        onEvent();
      }
    }
  } catch {
    // The connection broke: the service was killed.
  }
}

describe('event seqs across crashes', () => {
  it('a client that reconnects with its Last-Event-ID after each of 20 SIGKILLs mid-stream gets exactly the output', {
    timeout: 180_000,
  }, async () => {
    const storePath = join(mkdtempSync(join(tmpdir(), 'agentchart-stream-crash-')), 'store');
    const client = new Client();
    const runId = 'streamed';
    let kills = 0;
    let starts = 0;
    while (!client.ended) {
      const service = startService(storePath);
      const url = await service.url;
      starts++;
      if (starts === 1) {
        const created = await fetch(`${url}/runs`, {
          method: 'POST',
          body: JSON.stringify({ input: 'go', runId }),
        });
        expect(created.status).toBe(201);
      }
      const startsBefore = client.runStarts;
      let killAfter = kills < 20 ? 20 + Math.floor(Math.random() * 100) : Number.POSITIVE_INFINITY;
      let seen = 0;
      let killed: Promise<unknown> | undefined;
      await follow(url, runId, client, () => {
        // Killed once the new process has streamed something of its own (random: 20 to 120 events in).
        if (client.runStarts > startsBefore && ++seen >= killAfter && killed === undefined) {
          killAfter = Number.POSITIVE_INFINITY;
          service.child.kill('SIGKILL');
          killed = service.exited;
        }
      });
      if (killed !== undefined) {
        await killed;
        kills++;
        // Every new process announces the run again: a client that reconnected missed nothing of it.
        expect(client.runStarts).toBe(startsBefore + 1);
        continue;
      }
      // Not killed: the run ended. The client saw this process announce the run, as every process does.
      expect(kills, 'the run ended before the 20th kill: it is too short for this test').toBe(20);
      expect(client.runStarts, 'the client saw the run start again after it reconnected').toBe(
        startsBefore + 1,
      );
      expect(client.ended).toBe(true);
      service.child.kill('SIGTERM');
      await service.exited;
      await sleep(0);
    }
    expect(kills).toBe(20);
    // Seqs went only up (checked on every event), across 21 processes.
    const store = await levelStore({ path: storePath, create: false });
    const record = await store.getRun(runId);
    const head = await store.getCheckpoint(record?.headCheckpointId ?? '');
    await store.close();
    expect(record?.status).toBe('done');
    const answers = (head?.context.messages ?? [])
      .filter((message) => message.role === 'assistant')
      .map((message) => textOf(message.content));
    expect(answers).toEqual(Array.from({ length: streamTurns }, (_, step) => turnText(step)));
    // The client assembled exactly that, turn by turn.
    expect([...client.texts.keys()].sort((a, b) => a - b)).toEqual(answers.map((_, index) => index + 1));
    for (const [turn, text] of client.texts) expect(text, `turn ${turn}`).toBe(answers[turn - 1]);
    console.log(
      `stream crash test: ${kills} kills, ${client.seqs.length} events, last seq ${client.lastSeq}`,
    );
  });
});
