/**
 * The studio's JSON API over real HTTP on 127.0.0.1, against a LevelDB store with runs made by the
 * scripted model: its routes under the base path, its errors (codes and the statuses of the one
 * error table), its zod-checked bodies and its auth hook.
 */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StudioForkTree, StudioRun, StudioRunSummary } from 'agentchart/studio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StudioFixture, startStudioFixture } from './fixtures/studio-fixture.js';

let fixture: StudioFixture;
let api = '';
beforeAll(async () => {
  fixture = await startStudioFixture({
    basePath: '/tools/studio/',
    auth: (request) => request.headers.authorization !== 'Bearer refused',
  });
  api = `${fixture.url}/tools/studio/api`;
});
afterAll(() => fixture?.close());

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${api}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('the studio API', () => {
  it('lists runs, newest first, with turns, tokens and cost, and filters them by status', async () => {
    const all = (await (await fetch(`${api}/runs`)).json()) as StudioRunSummary[];
    expect(all.map((run) => run.runId)).toEqual(['ask', 'email', 'research']);
    expect(all[2]).toMatchObject({
      status: 'done',
      turns: 2,
      usage: { inputTokens: 3200, outputTokens: 200 },
    });
    expect(all[2]?.costUsd).toBeCloseTo(0.0126);
    const waiting = (await (await fetch(`${api}/runs?status=waiting_input`)).json()) as StudioRunSummary[];
    expect(waiting.map((run) => run.runId)).toEqual(['ask', 'email']);
  });

  it('shows a run with its timeline: each step, phase, tool calls and duration', async () => {
    const run = (await (await fetch(`${api}/runs/research`)).json()) as StudioRun;
    expect(run.timeline.map((entry) => [entry.stepNum, entry.phase])).toEqual([
      [0, 'plan'],
      [1, 'act'],
      [2, 'plan'],
      [3, 'done'],
    ]);
    expect(run.timeline[1]?.toolCalls.map((call) => call.toolName)).toEqual(['lookup']);
    expect(run.timeline[0]?.durationMs).toBeNull();
    expect(run.timeline[1]?.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('answers an unknown run with 404 and its code, and an unknown route with 404 NOT_FOUND', async () => {
    const response = await fetch(`${api}/runs/nope`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: { code: 'RUN_NOT_FOUND', message: "No run 'nope' in the store" },
    });
    const route = await fetch(`${api}/nothing-here`);
    expect(route.status).toBe(404);
    expect(((await route.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
  });

  it('refuses a body that fails its schema with 400 INVALID_ARGUMENT, naming the field', async () => {
    const response = await post('/checkpoints/research@1/fork', { systemPrompt: 42 });
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('systemPrompt');
    const unknownField = await post('/runs/email/requests/x', { action: 'approve', extra: true });
    expect(unknownField.status).toBe(400);
    const notJson = await post('/runs/research/replay', '{not json');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { code: string } }).error.code).toBe('INVALID_JSON');
  });

  it('refuses a POST that is not JSON, or from a page of another origin', async () => {
    const form = await fetch(`${api}/runs/research/replay`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{}',
    });
    expect(form.status).toBe(400);
    expect(((await form.json()) as { error: { code: string } }).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const foreign = await post('/runs/research/replay', {}, { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
  });

  it('answers an answer that fails its schema with 400 INPUT_INVALID, and the run keeps waiting', async () => {
    const response = await post(`/runs/ask/requests/${fixture.askRequest}`, { action: 'answer', value: 'x' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('INPUT_INVALID');
    expect((await fixture.runtime.status('ask')).status).toBe('waiting_input');
  });

  it('takes the statuses of the one error table: approving a request of a finished run is a 409 RUN_ENDED', async () => {
    const response = await post('/runs/research/requests/req_none', { action: 'approve' });
    expect(response.status).toBe(409);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('RUN_ENDED');
  });

  it('forks a checkpoint with a new system prompt, and the fork is in the tree', async () => {
    const response = await post('/checkpoints/research@1/fork', { systemPrompt: 'Answer in French.' });
    expect(response.status).toBe(201);
    const { runId } = (await response.json()) as { runId: string };
    const tree = (await (await fetch(`${api}/runs/${runId}/tree`)).json()) as StudioForkTree;
    expect(tree.runId).toBe('research');
    expect(tree.children.map((child) => [child.runId, child.forkOf])).toEqual([[runId, 'research@1']]);
  });

  it('replays a run without the model and reports the same states', async () => {
    const response = await post('/runs/research/replay', {});
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ runId: 'research', sameStates: true, sameOutput: true });
  });

  it('draws the statechart from the machine: its states and transitions', async () => {
    const graph = (await (await fetch(`${api}/machine`)).json()) as {
      states: { key: string; initial: boolean }[];
      transitions: { source: string | null; target: string; event: string }[];
    };
    expect(graph.states.find((state) => state.initial)?.key).toBe('start');
    expect(graph.states.map((state) => state.key)).toEqual(
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
    expect(graph.transitions).toContainEqual({
      source: 'plan',
      target: 'paused',
      event: 'PAUSE',
      guard: null,
    });
    expect(graph.transitions).toContainEqual({
      source: null,
      target: 'cancelled',
      event: 'CANCEL',
      guard: null,
    });
  });
});

describe('the studio handler', () => {
  it('serves the app under its base path, redirects the bare base path, and leaves other paths alone', async () => {
    const page = await fetch(`${fixture.url}/tools/studio/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('assets/app.js');
    const script = await fetch(`${fixture.url}/tools/studio/assets/app.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toContain('javascript');
    const bare = await fetch(`${fixture.url}/tools/studio?x=1`, { redirect: 'manual' });
    expect(bare.status).toBe(308);
    expect(bare.headers.get('location')).toBe('/tools/studio/?x=1');
    // Outside the base path the handler returns false: the fixture's server answers 418.
    expect((await fetch(`${fixture.url}/tools/other`)).status).toBe(418);
    expect((await fetch(`${fixture.url}/api/runs`)).status).toBe(418);
    expect((await fetch(`${fixture.url}/tools/studio/assets/../../../package.json`)).status).not.toBe(200);
  });

  it('answers 401 with a JSON error when the auth hook refuses, for the page and the API alike', async () => {
    for (const path of ['/tools/studio/', '/tools/studio/api/runs']) {
      const response = await fetch(`${fixture.url}${path}`, { headers: { authorization: 'Bearer refused' } });
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    }
  });
});

describe('the example service', () => {
  it('mounts the studio at /studio/, behind its auth hook, beside its own routes', async () => {
    const { startService } = await import('../examples/server.js');
    const storePath = join(mkdtempSync(join(tmpdir(), 'agentchart-studio-example-')), 'store');
    const service = await startService({
      port: 0,
      storePath,
      studioAuth: (request) => request.headers.authorization === 'Bearer letmein',
    });
    try {
      const headers = { authorization: 'Bearer letmein' };
      const page = await fetch(`${service.url}/studio/`, { headers });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>agentchart studio</title>');
      expect((await fetch(`${service.url}/studio/api/runs`, { headers })).status).toBe(200);
      expect((await fetch(`${service.url}/studio/api/runs`)).status).toBe(401);
      // The service's own routes are still its own.
      expect((await fetch(`${service.url}/runs/nope`)).status).toBe(404);
    } finally {
      await service.close();
    }
  });
});
