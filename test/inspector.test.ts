import type { AddressInfo } from 'node:net';
import { createWebSocketInspector } from '@statelyai/inspect';
import { createRuntime, defineTool, memoryStore } from 'agentchart';
import { scriptedModel } from 'agentchart/testing';
import { describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import { z } from 'zod';
import { adder, nextEvent } from './helpers.js';

interface InspectionMessage {
  type: string;
  name?: string;
  sessionId: string;
  parentId?: string;
  definition?: string;
  event?: { type: string };
  snapshot?: { value?: unknown; status?: string };
}

describe('the Stately inspector', () => {
  it('receives the run actor, its events and its snapshots with named states over a WebSocket', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => server.once('listening', resolve));
    const received: InspectionMessage[] = [];
    const connected = new Promise<void>((resolve) => {
      server.on('connection', (socket) => {
        socket.on('message', (data) => received.push(JSON.parse(String(data))));
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    const inspector = createWebSocketInspector({ url: `ws://127.0.0.1:${port}` });
    await connected;

    const add = adder();
    const secret = 'sk-ant-api03-abcdefghijklmnopqrstuv';
    const model = scriptedModel([
      { text: `Using ${secret} to add.`, toolCalls: [{ name: 'add', input: { a: 2, b: 2 } }] },
      { text: '4' },
    ]);
    const runtime = createRuntime({
      store: memoryStore(),
      model,
      tools: [add.tool],
      inspect: inspector.inspect,
    });
    const run = runtime.start({ input: `2+2, my key is ${secret}`, runId: 'inspected' });
    await run.result;

    await vi.waitFor(() => {
      const values = received
        .filter((message) => message.type === '@xstate.snapshot')
        .map((message) => message.snapshot?.value);
      expect(values).toContain('done');
    });
    // The run is a child of the runtime's supervisor, named by its run id.
    const supervisor = received.find(
      (message) => message.type === '@xstate.actor' && message.name === 'agentchart',
    );
    const root = received.find((message) => message.type === '@xstate.actor' && message.name === 'inspected');
    expect(supervisor).toBeDefined();
    expect(root?.parentId).toBe(supervisor?.sessionId);
    const definition = JSON.parse(root?.definition ?? '{}') as {
      id: string;
      states: Record<string, unknown>;
    };
    expect(definition.id).toBe('agentRun');
    expect(Object.keys(definition.states)).toEqual(
      expect.arrayContaining(['plan', 'act', 'observe', 'paused', 'done']),
    );
    const rootSnapshots = received.filter(
      (message) => message.type === '@xstate.snapshot' && message.sessionId === root?.sessionId,
    );
    // observe decides at once (eventless transitions), so snapshots rest only in plan, act and the end.
    expect(rootSnapshots.map((message) => message.snapshot?.value)).toEqual([
      'plan',
      'act',
      'act',
      'plan',
      'done',
    ]);
    const eventTypes = received
      .filter((message) => message.type === '@xstate.event')
      .map((message) => message.event?.type);
    expect(eventTypes).toEqual(expect.arrayContaining(['RUN.SPAWN', 'TOOL_RESULT', 'TOOLS_SETTLED']));
    expect(eventTypes.some((type) => type?.startsWith('xstate.done.actor.'))).toBe(true);
    const grandchildren = received.filter(
      (message) => message.type === '@xstate.actor' && message.parentId === root?.sessionId,
    );
    // The invoked actors go by their names.
    expect(new Set(grandchildren.map((message) => message.name))).toEqual(
      new Set(['modelTurn', 'toolCalls']),
    );
    // Secrets are redacted given the inspector's own observer, as with the 'ws://' shorthand.
    const all = JSON.stringify(received);
    expect(all).not.toContain(secret);
    expect(all).toContain('[redacted]');

    inspector.stop();
    await runtime.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('redacts secrets for an observer function too, in events, snapshots and what actors give', async () => {
    const secret = 'sk-ant-api03-zyxwvutsrqponmlkjih';
    const seen: string[] = [];
    const actors = new Set<{ getSnapshot(): unknown }>();
    const login = defineTool({
      name: 'login',
      description: 'Logs in',
      input: z.object({ apiKey: z.string() }),
      execute: () => `logged in with ${secret}`,
    });
    const runtime = createRuntime({
      store: memoryStore(),
      model: scriptedModel([{ toolCalls: [{ name: 'login', input: { apiKey: secret } }] }, { text: 'in' }]),
      tools: [login],
      inspect: (event) => {
        actors.add(event.actorRef);
        seen.push(JSON.stringify({ ...event, actorRef: undefined, sourceRef: undefined }));
      },
    });
    const run = runtime.start({ input: 'log in', runId: 'observed' });
    // What an actor gives when asked (its snapshot, its children's inputs), while it is still there.
    await nextEvent(run, (event) => event.type === 'tool-result');
    for (const actor of actors) seen.push(JSON.stringify(actor.getSnapshot()));
    await run.result;
    expect(seen.length).toBeGreaterThan(10);
    expect(seen.join('\n')).not.toContain(secret);
    expect(seen.join('\n')).toContain('[redacted]');
    await runtime.close();
  });

  it("creates the WebSocket inspector itself from inspect: 'ws://...', deep enough, with secrets redacted", async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => server.once('listening', resolve));
    const received: string[] = [];
    server.on('connection', (socket) => socket.on('message', (data) => received.push(String(data))));
    const { port } = server.address() as AddressInfo;
    const login = defineTool({
      name: 'login',
      description: 'Logs in',
      input: z.object({ user: z.string(), password: z.string() }),
      execute: () => ({ ok: true, note: 'used key sk-ant-api03-abcdefghijklmnop' }),
    });
    const model = scriptedModel([
      { toolCalls: [{ name: 'login', input: { user: 'ada', password: 'hunter2-secret' } }] },
      { text: 'Logged in.' },
    ]);
    const runtime = createRuntime({
      store: memoryStore(),
      model,
      tools: [login],
      inspect: `ws://127.0.0.1:${port}`,
    });
    await runtime.start({ input: 'log me in', runId: 'secretive' }).result;
    await vi.waitFor(() => expect(received.some((text) => text.includes('"value":"done"'))).toBe(true), {
      timeout: 10_000,
    });
    const all = received.join('\n');
    expect(all).not.toContain('hunter2-secret');
    expect(all).not.toContain('sk-ant-api03-abcdefghijklmnop');
    expect(all).toContain('[redacted]');
    // Deep enough: the whole statechart, down to its states' transitions, and the messages' blocks.
    expect(all).toContain('"user":"ada"');
    const actor = received
      .map((text) => JSON.parse(text) as InspectionMessage)
      .find((message) => message.name === 'secretive');
    expect(Object.keys((JSON.parse(actor?.definition ?? '{}') as { states: object }).states)).toEqual(
      expect.arrayContaining([
        'plan',
        'act',
        'observe',
        'waiting_input',
        'paused',
        'done',
        'failed',
        'cancelled',
      ]),
    );
    await runtime.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('refuses an inspect string that is not a WebSocket URL', () => {
    expect(() => createRuntime({ model: scriptedModel([]), inspect: 'http://x' as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});
