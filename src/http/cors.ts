import type { IncomingMessage, ServerResponse } from 'node:http';

/** Which browser origins may call a service (Cross-Origin Resource Sharing). */
export interface CorsOptions {
  /** The allowed origins (`'https://app.example.com'`), or `'*'` for any. */
  origins: readonly string[] | '*';
  /** How long a browser may keep a preflight's answer, in seconds. Default 600. */
  maxAgeSeconds?: number;
}

/**
 * Applies a CORS policy to a request: an allowed origin gets the CORS headers on its response, and
 * a preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered here: 204 for an allowed
 * origin, 403 for another. Returns true when it answered the request (a preflight), false when the
 * service should go on. A request without an `Origin` (same origin, curl) is left as it is.
 *
 * @example
 * ```ts
 * createServer((request, response) => {
 *   if (applyCors(request, response, { origins: ['https://app.example.com'] })) return;
 *   route(request, response);
 * });
 * ```
 */
export function applyCors(request: IncomingMessage, response: ServerResponse, options: CorsOptions): boolean {
  const origin = request.headers.origin;
  const preflight =
    request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
  if (origin === undefined) return false;
  const allowed = options.origins === '*' || options.origins.includes(origin);
  if (allowed) {
    response.setHeader('access-control-allow-origin', options.origins === '*' ? '*' : origin);
    if (options.origins !== '*') response.setHeader('vary', 'Origin');
  }
  if (!preflight) return false;
  if (!allowed) {
    response.writeHead(403, { 'content-type': 'application/json; charset=utf-8' });
    response.end(
      JSON.stringify({ error: { code: 'FORBIDDEN', message: `Origin ${origin} is not allowed` } }),
    );
    return true;
  }
  response.writeHead(204, {
    'access-control-allow-methods': 'GET, POST, OPTIONS',
    'access-control-allow-headers': 'content-type, last-event-id',
    'access-control-max-age': String(options.maxAgeSeconds ?? 600),
  });
  response.end();
  return true;
}
