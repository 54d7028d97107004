import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { AgentchartError } from '../agentchart-error.js';
import { httpStatusOf, httpStatusOfCategory } from '../error-category.js';
import { messageOf } from '../message-of.js';
import type { StudioErrorBody } from './studio-api.js';

/** The studio's own error codes, for what is not an agentchart error: routes, bodies, access. */
export type StudioHttpErrorCode =
  | 'NOT_FOUND'
  | 'INVALID_JSON'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN';

/** The status of each of the studio's own codes: from the error table's categories where one fits. */
const studioStatuses = {
  NOT_FOUND: httpStatusOfCategory.not_found,
  INVALID_JSON: httpStatusOfCategory.invalid,
  UNSUPPORTED_MEDIA_TYPE: httpStatusOfCategory.invalid,
  // Access has no category in the table: it is the service's business, not the runtime's.
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
} as const satisfies Record<StudioHttpErrorCode, number>;

/** An error of the studio's HTTP layer (an unknown route, a body that is not JSON, a refused login). */
export class StudioHttpError extends Error {
  readonly code: StudioHttpErrorCode;

  constructor(code: StudioHttpErrorCode, message: string) {
    super(message);
    this.name = 'StudioHttpError';
    this.code = code;
  }

  get status(): number {
    return studioStatuses[this.code];
  }
}

/** Sends `body` as JSON with `status`. */
export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  response.end(JSON.stringify(body));
}

/**
 * Answers a failure as `{ error: { code, message } }`: an agentchart error with the status of the
 * one error table (`httpStatusOf`), the studio's own with theirs, anything else as a 500 `INTERNAL`.
 */
export function sendError(response: ServerResponse, error: unknown): void {
  let status = 500;
  let code = 'INTERNAL';
  if (error instanceof StudioHttpError) [status, code] = [error.status, error.code];
  else if (AgentchartError.isInstance(error)) [status, code] = [httpStatusOf(error.code), error.code];
  if (response.headersSent) {
    response.end();
    return;
  }
  const body: StudioErrorBody = { error: { code, message: messageOf(error) } };
  sendJson(response, status, body);
}

/** Parses with a zod schema: `INVALID_ARGUMENT` (400) naming every field that is wrong. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new AgentchartError({
      code: 'INVALID_ARGUMENT',
      message: `Invalid ${what}:\n${z.prettifyError(parsed.error)}`,
      details: { issues: parsed.error.issues.map(({ path, message }) => ({ path, message })) },
    });
  }
  return parsed.data;
}

/** The most bytes a request body may have. */
const maxBodyBytes = 1 << 20;

/**
 * Reads a JSON request body and validates it. The body must be sent as `application/json`: a page
 * of another origin cannot send that without a preflight, which the studio never allows.
 */
export async function readJsonBody<T>(request: IncomingMessage, schema: z.ZodType<T>): Promise<T> {
  const type = request.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type))
    throw new StudioHttpError('UNSUPPORTED_MEDIA_TYPE', `Send the body as application/json, not '${type}'`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > maxBodyBytes) throw new StudioHttpError('INVALID_JSON', 'The request body is too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let value: unknown = {};
  if (text.trim() !== '') {
    try {
      value = JSON.parse(text);
    } catch {
      throw new StudioHttpError('INVALID_JSON', 'The request body is not JSON');
    }
  }
  return parseWith(schema, value, 'request body');
}
