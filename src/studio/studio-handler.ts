import type { IncomingMessage, ServerResponse } from 'node:http';
import { AgentchartError } from '../agentchart-error.js';
import type { ModelClient } from '../model/model-client.js';
import type { Runtime } from '../runtime/runtime.js';
import { readAppFile } from './studio-assets.js';
import { StudioHttpError, sendError } from './studio-http.js';
import { studioRoutes } from './studio-routes.js';

/** What {@link studioHandler} takes. */
export interface StudioOptions {
  /**
   * The path the studio is mounted at, such as `/studio` (default: the root). The app is at
   * `BASE/`, its JSON API under `BASE/api/`; requests for other paths are not the studio's.
   */
  basePath?: string;
  /**
   * Decides whether a request may use the studio (every one: the page, its files and the API): put
   * it behind your service's own login. A refusal is answered `401` with
   * `{ error: { code: 'UNAUTHORIZED' } }`; a hook that throws is a `500`.
   */
  auth?: (request: IncomingMessage) => boolean | Promise<boolean>;
  /** The models a fork may switch to, by their id (without them, forks keep their run's model). */
  models?: readonly ModelClient[];
}

/**
 * A Node request handler. It returns true when the request is the studio's (under `basePath`) and
 * it answers it; otherwise it returns false, calls `next()` when given one (Connect and Express
 * middleware), and leaves the response alone.
 */
export type StudioHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  next?: (error?: unknown) => void,
) => boolean;

/**
 * The studio, a web time-travel debugger for the runs of `runtime`, as a handler for your own Node
 * HTTP service: the prebuilt app (static files shipped in the package: no CDN, works offline) and
 * its JSON API, every action of which is a call of the runtime's public API. Errors are
 * `{ error: { code, message } }` with the statuses of `httpStatusOf`.
 *
 * Requests outside `basePath` are not answered: the handler returns false and calls `next` if
 * given. `basePath` itself redirects to `basePath/`. Pages of other origins cannot act: a `POST`
 * must be `application/json` (which needs a CORS preflight the studio never allows) and one that
 * carries another origin's `Origin` is refused with `403`.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { studioHandler } from 'agentchart/studio';
 *
 * const studio = studioHandler(runtime, {
 *   basePath: '/studio',
 *   auth: (request) => request.headers.authorization === `Bearer ${process.env.STUDIO_TOKEN}`,
 * });
 * createServer((request, response) => {
 *   if (studio(request, response)) return;
 *   myService(request, response);
 * }).listen(3000, '127.0.0.1');
 * ```
 */
export function studioHandler(runtime: Runtime, options: StudioOptions = {}): StudioHandler {
  const base = normalizeBasePath(options.basePath ?? '');
  const routes = studioRoutes(runtime, options.models ?? []);

  const serve = async (request: IncomingMessage, response: ServerResponse, url: URL, path: string) => {
    if (options.auth !== undefined && !(await options.auth(request)))
      throw new StudioHttpError('UNAUTHORIZED', 'The studio needs you to log in');
    const method = request.method ?? 'GET';
    if (method === 'POST') refuseOtherOrigins(request);
    if (path.startsWith('/api/')) {
      const apiPath = path.slice('/api'.length);
      for (const route of routes) {
        const match = route.path.exec(apiPath);
        if (match === null || route.method !== method) continue;
        return route.handle({
          params: match.slice(1).map(decodePathPart),
          request,
          response,
          query: Object.fromEntries(url.searchParams),
        });
      }
      throw new StudioHttpError('NOT_FOUND', `No route ${method} ${url.pathname}`);
    }
    const file = method === 'GET' || method === 'HEAD' ? await appFileFor(path) : undefined;
    if (file === undefined) throw new StudioHttpError('NOT_FOUND', `No page ${url.pathname}`);
    response.writeHead(200, { 'content-type': file.contentType, 'cache-control': 'no-cache' });
    response.end(method === 'HEAD' ? undefined : file.body);
  };

  return (request, response, next) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (base !== '' && url.pathname === base) {
      response.writeHead(308, { location: `${base}/${url.search}` });
      response.end();
      return true;
    }
    if (base !== '' && !url.pathname.startsWith(`${base}/`)) {
      next?.();
      return false;
    }
    serve(request, response, url, url.pathname.slice(base.length)).catch((error: unknown) => {
      if (!(error instanceof StudioHttpError) && !AgentchartError.isInstance(error)) console.error(error);
      sendError(response, error);
    });
    return true;
  };
}

/** `studio/` and `/studio` both mean `/studio`; `/` and `` mean the root. */
function normalizeBasePath(basePath: string): string {
  const trimmed = basePath.replace(/\/+$/, '');
  return trimmed === '' ? '' : trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

/** The app's page for `/` (and `/index.html`), its files under `/assets/`. */
async function appFileFor(path: string) {
  if (path === '/' || path === '/index.html') {
    const page = await readAppFile('index.html');
    if (page === undefined)
      throw new StudioHttpError(
        'NOT_FOUND',
        'The studio app is not built: run `npm run build` in agentchart',
      );
    return page;
  }
  return path.startsWith('/assets/') ? readAppFile(path.slice('/assets/'.length)) : undefined;
}

/** A state-changing request from a page of another origin (a browser says where it comes from) is refused. */
function refuseOtherOrigins(request: IncomingMessage): void {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    host = undefined;
  }
  if (host !== request.headers.host)
    throw new StudioHttpError('FORBIDDEN', `Requests from ${origin} may not act on this studio`);
}

function decodePathPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new AgentchartError({
      code: 'INVALID_ARGUMENT',
      message: `The path part '${part}' is not validly percent-encoded`,
    });
  }
}
