import { AgentchartError, lastEventSeq, type RunEvent, toServerSentEvents } from 'agentchart';
import { NEVER, Observable, of, Subject, throwError } from 'rxjs';
import { describe, expect, it } from 'vitest';

const phase = (seq: number): RunEvent => ({ type: 'phase', phase: 'plan', turn: 0, runId: 'r', seq, at: 1 });

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = '';
  const decoder = new TextDecoder();
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>)
    text += decoder.decode(chunk, { stream: true });
  return text;
}

describe('toServerSentEvents', () => {
  it('writes each event with its seq as id and its type as event, and closes when the events complete', async () => {
    const text = await readAll(toServerSentEvents(of(phase(3), phase(4)), { retryMs: 2_000 }));
    expect(text).toBe(
      `retry: 2000\n\nid: 3\nevent: phase\ndata: ${JSON.stringify(phase(3))}\n\nid: 4\nevent: phase\ndata: ${JSON.stringify(phase(4))}\n\n`,
    );
  });

  it('sends heartbeat comments while idle', async () => {
    const reader = toServerSentEvents(NEVER, { heartbeatMs: 5 }).getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toBe(': heartbeat\n\n');
    await reader.cancel();
  });

  it('ends with a run-error event (not EventSource’s own `error`) carrying the code when the events fail', async () => {
    const failing = throwError(() => new AgentchartError({ code: 'RUN_NOT_FOUND', message: 'No run' }));
    expect(await readAll(toServerSentEvents(failing))).toBe(
      'event: run-error\ndata: {"code":"RUN_NOT_FOUND","message":"No run"}\n\n',
    );
  });

  it('unsubscribes when the reader cancels', async () => {
    let subscribed = 0;
    const source = new Subject<RunEvent>();
    const counted = new Observable<RunEvent>((subscriber) => {
      subscribed++;
      const subscription = source.subscribe(subscriber);
      return () => {
        subscribed--;
        subscription.unsubscribe();
      };
    });
    const reader = toServerSentEvents(counted).getReader();
    source.next(phase(0));
    await reader.read();
    expect(subscribed).toBe(1);
    await reader.cancel();
    expect(subscribed).toBe(0);
  });
});

describe('lastEventSeq', () => {
  it('reads Last-Event-ID, and refuses one that is not a seq', () => {
    expect(lastEventSeq({ headers: {} })).toBe(-1);
    expect(lastEventSeq({ headers: { 'last-event-id': '41' } })).toBe(41);
    expect(() => lastEventSeq({ headers: { 'last-event-id': '4x' } })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});
