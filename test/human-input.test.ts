import {
  AgentchartError,
  askUser,
  createRuntime,
  defineTool,
  memoryStore,
  type RunEventOf,
} from 'agentchart';
import { type Script, scriptedModel } from 'agentchart/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type collect, ofType } from './helpers.js';

/** A tool that sends an email (after approval) and records what it sent. */
function mailer(needsApproval: boolean | ((input: { to: string }) => boolean) = true) {
  const sent: string[] = [];
  const tool = defineTool({
    name: 'send_email',
    description: 'Sends an email',
    input: z.object({ to: z.string() }),
    needsApproval,
    execute: ({ to }) => {
      sent.push(to);
      return `sent to ${to}`;
    },
  });
  return { tool, sent };
}

const firstRequest = (run: { events$: import('rxjs').Observable<import('agentchart').RunEvent> }) =>
  new Promise<RunEventOf<'input-request'>>((resolve) => {
    run.events$.subscribe((event) => event.type === 'input-request' && resolve(event));
  });

const sendThenConfirm: Script = (request) =>
  request.messages.length === 1
    ? { toolCalls: [{ name: 'send_email', input: { to: 'ada@example.com' }, id: 'call_mail' }] }
    : { text: 'Done.' };

describe('human in the loop', () => {
  it('waits for approval of a tool call, runs it once approved', async () => {
    const mail = mailer();
    const runtime = createRuntime({
      model: scriptedModel(sendThenConfirm),
      tools: [mail.tool],
      store: memoryStore(),
    });
    const run = runtime.start({ input: 'Email Ada', runId: 'h1' });
    const { request } = await firstRequest(run);
    expect(request).toEqual({
      requestId: 'req_call_mail',
      kind: 'approval',
      toolCallId: 'call_mail',
      toolName: 'send_email',
      prompt: 'Run send_email with {"to":"ada@example.com"}?',
      input: { to: 'ada@example.com' },
    });
    expect(await runtime.status('h1')).toMatchObject({ status: 'waiting_input', pendingRequests: [request] });
    expect(mail.sent).toEqual([]);
    await run.approve(request.requestId);
    expect(await run.result).toMatchObject({ status: 'done', output: 'Done.' });
    expect(mail.sent).toEqual(['ada@example.com']);
  });

  it('tells the model when a call is rejected, and does not run it', async () => {
    const mail = mailer();
    const model = scriptedModel(sendThenConfirm);
    const runtime = createRuntime({ model, tools: [mail.tool], store: memoryStore() });
    const run = runtime.start({ input: 'Email Ada' });
    const { request } = await firstRequest(run);
    await runtime.reject(run.id, request.requestId, 'not today');
    await run.result;
    expect(mail.sent).toEqual([]);
    expect(model.requests[1]?.messages.at(-1)?.content).toEqual([
      {
        type: 'tool-result',
        toolCallId: 'call_mail',
        toolName: 'send_email',
        output: 'The user rejected this call: not today',
        isError: true,
      },
    ]);
  });

  it('asks only when the approval rule says so', async () => {
    const mail = mailer(({ to }) => !to.endsWith('@example.com'));
    const model = scriptedModel((request) =>
      request.messages.length === 1
        ? {
            toolCalls: [
              { name: 'send_email', input: { to: 'ada@example.com' } },
              { name: 'send_email', input: { to: 'eve@elsewhere.net' } },
            ],
          }
        : { text: 'Done.' },
    );
    const runtime = createRuntime({ model, tools: [mail.tool], store: memoryStore() });
    const run = runtime.start({ input: 'Email both' });
    const requests = ofType(await collectUntilWaiting(run), 'input-request');
    expect(requests.map((event) => event.request.input)).toEqual([{ to: 'eve@elsewhere.net' }]);
    await run.approve(requests[0]?.request.requestId ?? '');
    await run.result;
    expect(mail.sent.sort()).toEqual(['ada@example.com', 'eve@elsewhere.net']);
  });

  it('lets the model ask the user, checks the answer against its schema, and answers several requests independently', async () => {
    const ask = askUser({ answer: z.object({ city: z.string(), nights: z.number().int().positive() }) });
    const mail = mailer();
    const model = scriptedModel((request) =>
      request.messages.length === 1
        ? {
            toolCalls: [
              { name: 'ask_user', input: { question: 'Where to, and for how long?' }, id: 'call_ask' },
              { name: 'send_email', input: { to: 'hotel@example.com' }, id: 'call_mail' },
            ],
          }
        : { text: 'Booked.' },
    );
    const runtime = createRuntime({ model, tools: [ask, mail.tool], store: memoryStore() });
    const run = runtime.start({ input: 'Plan my trip' });
    const requests = ofType(await collectUntilWaiting(run), 'input-request').map((event) => event.request);
    expect(requests.map((request) => [request.kind, request.prompt])).toEqual([
      ['input', 'Where to, and for how long?'],
      ['approval', 'Run send_email with {"to":"hotel@example.com"}?'],
    ]);
    const [question, approval] = requests;
    const refused = await run
      .respond(question?.requestId ?? '', { city: 'Lisbon', nights: 'three' })
      .catch((error: unknown) => error);
    expect(AgentchartError.isInstance(refused) && refused.code).toBe('INPUT_INVALID');
    expect((refused as Error).message).toMatch(/nights/);
    await expect(run.approve(question?.requestId ?? '')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(run.respond('req_unknown', 1)).rejects.toMatchObject({ code: 'REQUEST_NOT_FOUND' });
    expect(run.actor.getSnapshot().value).toBe('waiting_input');

    await run.respond(question?.requestId ?? '', { city: 'Lisbon', nights: 3 });
    expect(run.actor.getSnapshot().context.pendingRequests.map((request) => request.kind)).toEqual([
      'approval',
    ]);
    await run.approve(approval?.requestId ?? '');
    expect(await run.result).toMatchObject({ status: 'done', output: 'Booked.' });
    const answers = model.requests[1]?.messages.at(-1)?.content;
    expect(answers).toEqual([
      {
        type: 'tool-result',
        toolCallId: 'call_ask',
        toolName: 'ask_user',
        output: { city: 'Lisbon', nights: 3 },
        isError: false,
      },
      {
        type: 'tool-result',
        toolCallId: 'call_mail',
        toolName: 'send_email',
        output: 'sent to hotel@example.com',
        isError: false,
      },
    ]);
  });

  it('takes an answer after a restart, and re-emits a pending request when the run is resumed', async () => {
    const store = memoryStore();
    const mail = mailer();
    const first = createRuntime({ model: scriptedModel(sendThenConfirm), tools: [mail.tool], store });
    const run = first.start({ input: 'Email Ada', runId: 'h5' });
    const { request } = await firstRequest(run);
    await first.close();
    expect(await run.result).toMatchObject({ status: 'waiting_input' });

    const second = createRuntime({ model: scriptedModel(sendThenConfirm), tools: [mail.tool], store });
    const resumed = await second.resume('h5');
    const events = await collectUntilWaiting(resumed);
    expect(ofType(events, 'input-request').map((event) => event.request)).toEqual([request]);
    await second.close();

    const third = createRuntime({ model: scriptedModel(sendThenConfirm), tools: [mail.tool], store });
    const answered = await third.approve('h5', request.requestId);
    expect(await answered.result).toMatchObject({ status: 'done', output: 'Done.' });
    expect(mail.sent).toEqual(['ada@example.com']);
  });

  it("refuses an approval in a runtime without the call's tool (the run keeps waiting), and takes it in one with the tool", async () => {
    const store = memoryStore();
    const mail = mailer();
    const first = createRuntime({ model: scriptedModel(sendThenConfirm), tools: [mail.tool], store });
    const { request } = await firstRequest(first.start({ input: 'Email Ada', runId: 'h7' }));
    await first.close();

    const toolless = createRuntime({ model: scriptedModel(sendThenConfirm), store });
    const refused = await toolless.approve('h7', request.requestId).catch((error: unknown) => error);
    expect(AgentchartError.isInstance(refused) && refused.code).toBe('TOOL_NOT_FOUND');
    expect((refused as AgentchartError).details).toEqual({
      runId: 'h7',
      requestId: request.requestId,
      toolName: 'send_email',
    });
    expect(await toolless.status('h7')).toMatchObject({
      status: 'waiting_input',
      pendingRequests: [request],
    });
    await toolless.close();

    const second = createRuntime({ model: scriptedModel(sendThenConfirm), tools: [mail.tool], store });
    const run = await second.approve('h7', request.requestId);
    expect(await run.result).toMatchObject({ status: 'done', output: 'Done.' });
    expect(mail.sent).toEqual(['ada@example.com']);
    await second.close();
  });

  it('with unloadParked, a waiting run leaves memory and is loaded again by its answer', async () => {
    const mail = mailer();
    const runtime = createRuntime({
      model: scriptedModel(sendThenConfirm),
      tools: [mail.tool],
      store: memoryStore(),
      unloadParked: true,
    });
    const run = runtime.start({ input: 'Email Ada', runId: 'h6' });
    const { request } = await firstRequest(run);
    expect(await run.result).toMatchObject({ status: 'waiting_input', success: false });
    expect(await runtime.status('h6')).toMatchObject({
      loaded: false,
      status: 'waiting_input',
      pendingRequests: [request],
    });
    expect(await runtime.recover()).toEqual([]);
    await run.approve(request.requestId);
    const reloaded = await runtime.resume('h6');
    expect(await reloaded.result).toMatchObject({ status: 'done', output: 'Done.' });
    expect(mail.sent).toEqual(['ada@example.com']);
  });
});

/** The events of a run until it has asked for input (all the requests of one turn). */
async function collectUntilWaiting(run: Parameters<typeof collect>[0]) {
  const events: import('agentchart').RunEvent[] = [];
  await new Promise<void>((resolve) => {
    run.events$.subscribe((event) => {
      events.push(event);
      if (event.type === 'input-request') setTimeout(resolve, 0);
    });
  });
  return events;
}
