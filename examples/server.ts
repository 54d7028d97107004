/**
 * An HTTP service to copy: start runs, follow them over Server-Sent Events (reconnecting with
 * Last-Event-ID loses nothing), pause, resume, cancel, answer their questions and approvals, list
 * their checkpoints and fork them. Node's `http` only; input checked with zod; errors are JSON
 * `{ error: { code, message } }` with the matching status.
 *
 *   npm run serve            # http://127.0.0.1:3000, LevelDB in ./.agentchart
 *   npm run inspect          # the same, plus the Stately inspector on http://localhost:8080
 *
 * PORT and AGENTCHART_STORE change the port and the store (a folder or a postgres:// URL); CORS_ORIGINS (a comma-separated
 * list, or *) lets pages of other origins call it. With ANTHROPIC_API_KEY set it
 * talks to Claude; without it a scripted model streams its answers slowly, asks before sending an
 * email when the message says "email", and asks a question when it says "ask".
 *
 *   curl -s localhost:3000/runs -d '{"input":"Hello"}'
 *   curl -N localhost:3000/runs/RUN_ID/events
 *
 * The studio (a web time-travel debugger of the runs) is mounted at http://127.0.0.1:3000/studio/;
 * with STUDIO_TOKEN set, it asks for `Authorization: Bearer STUDIO_TOKEN`.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';
import {
  AgentchartError,
  applyCors,
  askUser,
  type CorsOptions,
  createRuntime,
  defineTool,
  httpStatusOf,
  httpStatusOfCategory,
  type ModelClient,
  openStore,
  type Runtime,
  serveRunEvents,
} from 'agentchart';
import { type StudioOptions, studioHandler } from 'agentchart/studio';
import { scriptedModel } from 'agentchart/testing';
import { z } from 'zod';

/** The tools of the example: one that needs approval, and a question to the user. */
export const tools = [
  defineTool({
    name: 'send_email',
    description: 'Sends an email to the user',
    input: z.object({ subject: z.string() }),
    needsApproval: true,
    execute: ({ subject }) => ({ sent: subject }),
  }),
  askUser({ answer: z.string().min(1) }),
];

/** Claude with ANTHROPIC_API_KEY; otherwise a scripted model that streams a token every `tokenDelayMs`. */
export async function chooseModel(tokenDelayMs = 20): Promise<ModelClient> {
  if (process.env.ANTHROPIC_API_KEY) {
    const { anthropicModel } = await import('agentchart/anthropic');
    return anthropicModel({ maxTokens: 1024 });
  }
  return scriptedModel((request) => {
    const first = request.messages[0]?.content.find((block) => block.type === 'text');
    const input = first?.type === 'text' ? first.text : '';
    const answered = request.messages.at(-1)?.content.some((block) => block.type === 'tool-result') ?? false;
    if (!answered && input.includes('email'))
      return { toolCalls: [{ name: 'send_email', input: { subject: input } }], tokenDelayMs };
    if (!answered && input.includes('ask'))
      return { toolCalls: [{ name: 'ask_user', input: { question: 'What is your name?' } }], tokenDelayMs };
    return { text: `You said: ${input}. `.repeat(8).trim(), tokenDelayMs };
  });
}

const startBody = z.strictObject({
  input: z.string().min(1),
  runId: z.string().min(1).optional(),
  timeoutMs: z.number().int().positive().optional(),
});
const cancelBody = z.strictObject({ reason: z.string().optional() });
const requestBody = z.union([
  z.strictObject({ answer: z.unknown() }),
  z.strictObject({ approved: z.literal(true) }),
  z.strictObject({ approved: z.literal(false), reason: z.string().optional() }),
]);
const forkBody = z.strictObject({
  input: z.string().min(1).optional(),
  systemPrompt: z.string().optional(),
  runId: z.string().min(1).optional(),
});
const checkpointQuery = z.strictObject({
  tag: z.string().optional(),
  limit: z.coerce.number().int().positive().max(1000).optional(),
});

/** An error of the service's own (bad JSON, an unknown route), with the category of its status. */
class HttpError extends Error {
  constructor(
    readonly code: 'NOT_FOUND' | 'INVALID_JSON' | 'INVALID_ARGUMENT',
    message: string,
  ) {
    super(message);
  }

  get status(): number {
    return this.code === 'NOT_FOUND' ? httpStatusOfCategory.not_found : httpStatusOfCategory.invalid;
  }
}

/** The HTTP status of an error: the one error table (`httpStatusOf`) for agentchart's codes. */
function statusOf(error: unknown): number {
  if (error instanceof HttpError) return error.status;
  return AgentchartError.isInstance(error) ? httpStatusOf(error.code) : 500;
}

/** A part of the path, percent-decoded; a bad encoding is the client's mistake (400), not ours. */
function decodePathPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new HttpError('INVALID_ARGUMENT', `The path part '${part}' is not validly percent-encoded`);
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  response.end(JSON.stringify(body));
}

async function readJson<T>(request: IncomingMessage, schema: z.ZodType<T>): Promise<T> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  let value: unknown = {};
  if (text.trim() !== '') {
    try {
      value = JSON.parse(text);
    } catch {
      throw new HttpError('INVALID_JSON', 'The request body is not JSON');
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new HttpError('INVALID_ARGUMENT', z.prettifyError(parsed.error));
  return parsed.data;
}

/** What {@link createAgentService} takes. */
export interface AgentServiceOptions {
  /**
   * Browsers of other origins that may call the service (and follow runs with `EventSource`).
   * Without it, only same-origin pages (and non-browser clients) can.
   */
  cors?: CorsOptions;
  /** The reconnection delay suggested to browsers following a run (SSE `retry:`); theirs by default (about 3 s). */
  retryMs?: number;
  /** Who may use the studio at `/studio/` (everyone who reaches the service, by default). */
  studioAuth?: StudioOptions['auth'];
}

/** The request handler of the service, over a runtime you own. */
export function createAgentService(
  runtime: Runtime,
  options: AgentServiceOptions = {},
): (request: IncomingMessage, response: ServerResponse) => void {
  const routes: [
    string,
    RegExp,
    (match: string[], request: IncomingMessage, response: ServerResponse, url: URL) => Promise<void>,
  ][] = [
    [
      'POST',
      /^\/runs$/,
      async (_, request, response) => {
        const { input, runId, timeoutMs } = await readJson(request, startBody);
        // Refused here rather than accepted and failed: a run of this id is already stored.
        if (runId !== undefined && (await runtime.runs.get(runId)) !== undefined) {
          throw new AgentchartError({
            code: 'DUPLICATE_RUN_ID',
            message: `A run '${runId}' already exists in the store`,
            details: { runId },
          });
        }
        const run = runtime.start({
          input,
          ...(runId === undefined ? {} : { runId }),
          ...(timeoutMs === undefined ? {} : { timeoutMs }),
        });
        // Stored (or queued, on a cluster): a client's next request, to any process, finds it.
        await run.started;
        sendJson(response, 201, { runId: run.id, events: `/runs/${run.id}/events` });
      },
    ],
    [
      'GET',
      /^\/runs\/([^/]+)$/,
      async ([runId = ''], _, response) => sendJson(response, 200, await runtime.status(runId)),
    ],
    [
      'GET',
      /^\/runs\/([^/]+)\/events$/,
      async ([runId = ''], request, response, url) => {
        // A reconnecting EventSource sends Last-Event-ID; `?fromSeq=` does the same by hand. An
        // unknown run is a 404, and a finished run the client has all of a 204: both stop it.
        const query = url.searchParams.get('fromSeq');
        if (query !== null && !/^\d+$/.test(query))
          throw new HttpError('INVALID_ARGUMENT', 'fromSeq must be a non-negative integer');
        await serveRunEvents(runtime, runId, request, response, {
          heartbeatMs: 10_000,
          ...(options.retryMs === undefined ? {} : { retryMs: options.retryMs }),
          ...(query === null ? {} : { fromSeq: Number(query) }),
        });
      },
    ],
    [
      'POST',
      /^\/runs\/([^/]+)\/pause$/,
      async ([runId = ''], _, response) => {
        await runtime.pause(runId);
        sendJson(response, 200, await runtime.status(runId));
      },
    ],
    [
      'POST',
      /^\/runs\/([^/]+)\/resume$/,
      async ([runId = ''], _, response) => {
        await runtime.resume(runId);
        sendJson(response, 200, await runtime.status(runId));
      },
    ],
    [
      'POST',
      /^\/runs\/([^/]+)\/cancel$/,
      async ([runId = ''], request, response) => {
        const { reason } = await readJson(request, cancelBody);
        sendJson(response, 200, await runtime.cancel(runId, reason));
      },
    ],
    [
      'POST',
      /^\/runs\/([^/]+)\/requests\/([^/]+)$/,
      async ([runId = '', requestId = ''], request, response) => {
        const body = await readJson(request, requestBody);
        if ('answer' in body) await runtime.respond(runId, requestId, body.answer);
        else if (body.approved) await runtime.approve(runId, requestId);
        else await runtime.reject(runId, requestId, body.reason);
        sendJson(response, 200, await runtime.status(runId));
      },
    ],
    [
      'GET',
      /^\/runs\/([^/]+)\/checkpoints$/,
      async ([runId = ''], _, response, url) => {
        const query = checkpointQuery.safeParse(Object.fromEntries(url.searchParams));
        if (!query.success) throw new HttpError('INVALID_ARGUMENT', z.prettifyError(query.error));
        if ((await runtime.runs.get(runId)) === undefined) {
          throw new AgentchartError({
            code: 'RUN_NOT_FOUND',
            message: `No run '${runId}'`,
            details: { runId },
          });
        }
        const { tag, limit } = query.data;
        const list = await runtime.checkpoints.list({
          runId,
          ...(tag === undefined ? {} : { tags: [tag] }),
          ...(limit === undefined ? {} : { limit }),
        });
        sendJson(response, 200, list);
      },
    ],
    [
      'POST',
      /^\/checkpoints\/([^/]+)\/fork$/,
      async ([checkpointId = ''], request, response) => {
        const { input, systemPrompt, runId } = await readJson(request, forkBody);
        const fork = await runtime.fork(checkpointId, {
          modifications: {
            ...(input === undefined ? {} : { input }),
            ...(systemPrompt === undefined ? {} : { systemPrompt }),
          },
          ...(runId === undefined ? {} : { runId }),
        });
        sendJson(response, 201, { runId: fork.id, events: `/runs/${fork.id}/events` });
      },
    ],
  ];

  // The studio, at /studio/: it answers its own paths and returns false for the others.
  const studio = studioHandler(runtime, {
    basePath: '/studio',
    ...(options.studioAuth === undefined ? {} : { auth: options.studioAuth }),
  });

  return (request, response) => {
    if (options.cors !== undefined && applyCors(request, response, options.cors)) return;
    if (studio(request, response)) return;
    const url = new URL(request.url ?? '/', 'http://localhost');
    const handle = async () => {
      for (const [method, pattern, route] of routes) {
        const match = pattern.exec(url.pathname);
        if (match === null) continue;
        if (request.method !== method) continue;
        return route(match.slice(1).map(decodePathPart), request, response, url);
      }
      throw new HttpError('NOT_FOUND', `No route ${request.method} ${url.pathname}`);
    };
    handle().catch((error: unknown) => {
      const code = error instanceof HttpError || AgentchartError.isInstance(error) ? error.code : 'INTERNAL';
      const status = statusOf(error);
      const message = error instanceof Error ? error.message : String(error);
      if (status === 500) console.error(error);
      if (response.headersSent) response.end();
      else sendJson(response, status, { error: { code, message } });
    });
  };
}

/**
 * Starts the service on 127.0.0.1:`port` over the store at `storePath` (a folder or a postgres:// URL); `close()` stops it
 * all. With `inspectorPort`, it also starts the Stately inspector relay there (open
 * http://localhost:PORT to watch every run's statechart live) and connects the runtime to it.
 */
export async function startService(options: {
  port: number;
  storePath: string;
  tokenDelayMs?: number;
  inspectorPort?: number;
  cors?: CorsOptions;
  studioAuth?: StudioOptions['auth'];
}) {
  let relay: { stop(): void } | undefined;
  if (options.inspectorPort !== undefined) {
    const { createInspectorServer } = await import('@statelyai/inspect/server');
    relay = createInspectorServer({ port: options.inspectorPort, autoOpen: false });
  }
  const store = await openStore(options.storePath);
  const runtime = createRuntime({
    model: await chooseModel(options.tokenDelayMs),
    tools,
    store,
    ...(options.inspectorPort === undefined
      ? {}
      : { inspect: `ws://localhost:${options.inspectorPort}` as const }),
  });
  await runtime.recover();
  const listening = await listenService(runtime, {
    port: options.port,
    ...(options.cors === undefined ? {} : { cors: options.cors }),
    ...(options.studioAuth === undefined ? {} : { studioAuth: options.studioAuth }),
  });
  return {
    url: listening.url,
    runtime,
    async close() {
      await listening.close();
      await runtime.close();
      await store.close();
      relay?.stop();
    },
  };
}

/**
 * Serves a runtime you own (a local one, or one on a cluster) on 127.0.0.1:`port` (0 for any free
 * port); `close()` stops the server, not the runtime.
 */
export async function listenService(
  runtime: Runtime,
  options: { port: number; cors?: CorsOptions; studioAuth?: StudioOptions['auth'] },
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(
    createAgentService(runtime, {
      ...(options.cors === undefined ? {} : { cors: options.cors }),
      ...(options.studioAuth === undefined ? {} : { studioAuth: options.studioAuth }),
    }),
  );
  await new Promise<void>((resolve) => server.listen(options.port, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const service = await startService({
    port: Number(process.env.PORT ?? 3000),
    storePath: process.env.AGENTCHART_STORE ?? '.agentchart',
    tokenDelayMs: Number(process.env.TOKEN_DELAY_MS ?? 20),
    // CORS_ORIGINS=https://app.example.com,http://localhost:5173 (or *) lets those pages call the service.
    ...(process.env.CORS_ORIGINS === undefined
      ? {}
      : {
          cors: {
            origins: process.env.CORS_ORIGINS === '*' ? ('*' as const) : process.env.CORS_ORIGINS.split(','),
          },
        }),
    ...(process.argv.includes('--inspect')
      ? { inspectorPort: Number(process.env.INSPECTOR_PORT ?? 8080) }
      : {}),
    ...(process.env.STUDIO_TOKEN === undefined
      ? {}
      : {
          studioAuth: (request: IncomingMessage) =>
            request.headers.authorization === `Bearer ${process.env.STUDIO_TOKEN}`,
        }),
  });
  console.log(`agentchart service listening on ${service.url}`);
  console.log(`the studio: ${service.url}/studio/`);
  if (process.argv.includes('--inspect'))
    console.log(
      `Stately inspector: open http://localhost:${process.env.INSPECTOR_PORT ?? 8080} to watch the runs live`,
    );
  const stop = () => void service.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
