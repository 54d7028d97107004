import type { IncomingMessage, ServerResponse } from 'node:http';
import { AgentchartError } from '../agentchart-error.js';
import { serveRunEvents } from '../http/serve-run-events.js';
import { agentRunMachine, agentRunMachineVersion } from '../machines/agent-run-machine.js';
import type { ModelClient } from '../model/model-client.js';
import { checkpointStatuses } from '../persistence/checkpoint-envelope.js';
import type { ForkModifications } from '../runtime/history/fork-run.js';
import type { Runtime } from '../runtime/runtime.js';
import { defined } from '../runtime/runtime-config.js';
import { machineGraph } from './machine-graph.js';
import {
  cancelBodySchema,
  compareQuerySchema,
  emptyBodySchema,
  forkBodySchema,
  replayBodySchema,
  requestBodySchema,
  runsQuerySchema,
  type StudioConfig,
} from './studio-api.js';
import { parseWith, readJsonBody, sendJson } from './studio-http.js';
import { checkpointView, forkTree, runSummaries, runView } from './studio-views.js';

/** What a route is called with: the path's parameters, the request, the response and the query. */
interface RouteCall {
  params: string[];
  request: IncomingMessage;
  response: ServerResponse;
  query: Record<string, string>;
}

/** One endpoint of the API: method, path under `api/`, and what it does. */
export interface StudioRoute {
  method: 'GET' | 'POST';
  path: RegExp;
  handle(call: RouteCall): Promise<void>;
}

const segment = '([^/]+)';

/**
 * The studio's JSON API, over a runtime: each endpoint is one call of the runtime's public API (the
 * one the CLI uses), its body checked with the schemas of `studio-api.ts`.
 */
export function studioRoutes(runtime: Runtime, models: readonly ModelClient[]): StudioRoute[] {
  const graph = machineGraph(agentRunMachine, agentRunMachineVersion);
  const route = (
    method: StudioRoute['method'],
    path: string,
    handle: StudioRoute['handle'],
  ): StudioRoute => ({
    method,
    path: new RegExp(`^${path.replaceAll(':id', segment)}$`),
    handle,
  });
  const ok = (response: ServerResponse, body: unknown, status = 200) => sendJson(response, status, body);

  return [
    route('GET', '/config', async ({ response }) => {
      const config: StudioConfig = {
        models: models.map((model) => model.modelId),
        statuses: checkpointStatuses,
      };
      ok(response, config);
    }),
    route('GET', '/machine', async ({ response }) => ok(response, graph)),
    route('GET', '/runs', async ({ response, query }) => {
      const { status } = parseWith(runsQuerySchema, query, 'query');
      ok(response, await runSummaries(runtime, status));
    }),
    route('GET', '/runs/:id', async ({ params: [runId = ''], response }) =>
      ok(response, await runView(runtime, runId)),
    ),
    route('GET', '/runs/:id/tree', async ({ params: [runId = ''], response }) =>
      ok(response, await forkTree(runtime, runId)),
    ),
    route('GET', '/runs/:id/events', async ({ params: [runId = ''], request, response }) =>
      serveRunEvents(runtime, runId, request, response, { heartbeatMs: 15_000 }),
    ),
    route('POST', '/runs/:id/pause', async ({ params: [runId = ''], request, response }) => {
      await readJsonBody(request, emptyBodySchema);
      await runtime.pause(runId);
      ok(response, await runtime.status(runId));
    }),
    route('POST', '/runs/:id/resume', async ({ params: [runId = ''], request, response }) => {
      await readJsonBody(request, emptyBodySchema);
      await runtime.resume(runId);
      ok(response, await runtime.status(runId));
    }),
    route('POST', '/runs/:id/cancel', async ({ params: [runId = ''], request, response }) => {
      const { reason } = await readJsonBody(request, cancelBodySchema);
      ok(response, await runtime.cancel(runId, reason));
    }),
    route('POST', '/runs/:id/replay', async ({ params: [runId = ''], request, response }) => {
      const { untilStep } = await readJsonBody(request, replayBodySchema);
      ok(response, await runtime.replay(runId, untilStep === undefined ? {} : { untilStep }));
    }),
    route(
      'POST',
      '/runs/:id/requests/:id',
      async ({ params: [runId = '', requestId = ''], request, response }) => {
        const body = await readJsonBody(request, requestBodySchema);
        if (body.action === 'answer') await runtime.respond(runId, requestId, body.value);
        else if (body.action === 'approve') await runtime.approve(runId, requestId);
        else await runtime.reject(runId, requestId, body.reason);
        ok(response, await runtime.status(runId));
      },
    ),
    route('GET', '/checkpoints/:id', async ({ params: [checkpointId = ''], response }) =>
      ok(response, await checkpointView(runtime, checkpointId)),
    ),
    route('POST', '/checkpoints/:id/fork', async ({ params: [checkpointId = ''], request, response }) => {
      const { systemPrompt, input, modelId, limits, description } = await readJsonBody(
        request,
        forkBodySchema,
      );
      const modifications: ForkModifications = {};
      if (systemPrompt !== undefined) modifications.systemPrompt = systemPrompt;
      if (input !== undefined) modifications.input = input;
      if (limits !== undefined)
        modifications.limits = defined(limits) as ForkModifications['limits'] & object;
      if (modelId !== undefined) modifications.model = modelOf(models, modelId);
      const fork = await runtime.fork(checkpointId, {
        modifications,
        ...(description === undefined ? {} : { description }),
      });
      ok(response, { runId: fork.id }, 201);
    }),
    route('GET', '/compare', async ({ response, query }) => {
      const { a, b } = parseWith(compareQuerySchema, query, 'query');
      ok(response, await runtime.compare(a, b));
    }),
  ];
}

function modelOf(models: readonly ModelClient[], modelId: string): ModelClient {
  const model = models.find((candidate) => candidate.modelId === modelId);
  if (model === undefined) {
    throw new AgentchartError({
      code: 'INVALID_ARGUMENT',
      message: `The studio has no model '${modelId}' (it has ${models.map((m) => `'${m.modelId}'`).join(', ') || 'none'})`,
      details: { modelId },
    });
  }
  return model;
}
