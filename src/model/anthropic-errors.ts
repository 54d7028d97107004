import { AgentchartError } from '../agentchart-error.js';
import { messageOf } from '../message-of.js';
import type { ErrorClass } from '../run-error.js';

interface Classified {
  errorClass: ErrorClass;
  recoverable: boolean;
}

const byStatus: Record<number, Classified> = {
  400: { errorClass: 'invalid_request', recoverable: false },
  401: { errorClass: 'authentication', recoverable: false },
  403: { errorClass: 'permission', recoverable: false },
  404: { errorClass: 'not_found', recoverable: false },
  408: { errorClass: 'timeout', recoverable: true },
  409: { errorClass: 'server_error', recoverable: true },
  413: { errorClass: 'invalid_request', recoverable: false },
  422: { errorClass: 'invalid_request', recoverable: false },
  429: { errorClass: 'rate_limited', recoverable: true },
  529: { errorClass: 'overloaded', recoverable: true },
};

const byType: Record<string, Classified> = {
  invalid_request_error: { errorClass: 'invalid_request', recoverable: false },
  authentication_error: { errorClass: 'authentication', recoverable: false },
  permission_error: { errorClass: 'permission', recoverable: false },
  not_found_error: { errorClass: 'not_found', recoverable: false },
  request_too_large: { errorClass: 'invalid_request', recoverable: false },
  rate_limit_error: { errorClass: 'rate_limited', recoverable: true },
  api_error: { errorClass: 'server_error', recoverable: true },
  overloaded_error: { errorClass: 'overloaded', recoverable: true },
  timeout_error: { errorClass: 'timeout', recoverable: true },
};

/** The fields of the SDK's `APIError` that classification reads (kept structural: no SDK import here). */
interface ApiErrorLike {
  status?: number | undefined;
  type?: string | null;
  headers?: { get(name: string): string | null } | undefined;
  requestID?: string | null | undefined;
  message: string;
  name: string;
}

/**
 * Turns what the Anthropic SDK threw into an `AgentchartError` (code `MODEL_ERROR`) whose details
 * say the `errorClass`, whether it is `recoverable` (worth retrying), the HTTP status, and how long
 * the API asked us to wait (`retryAfterMs`). A failed connection or a body cut short is a
 * recoverable `network` error; anything else without a status or a known type (a missing API key,
 * a bug) is a `model_error` that is not retried.
 */
export function classifyAnthropicError(error: unknown): AgentchartError {
  if (AgentchartError.isInstance(error)) return error;
  const apiError = error as Partial<ApiErrorLike>;
  const status = typeof apiError?.status === 'number' ? apiError.status : undefined;
  const type = typeof apiError?.type === 'string' ? apiError.type : undefined;
  const timedOut = apiError?.name === 'APIConnectionTimeoutError';
  const classified: Classified = timedOut
    ? { errorClass: 'timeout', recoverable: true }
    : ((type === undefined ? undefined : byType[type]) ??
      (status === undefined ? undefined : (byStatus[status] ?? statusRange(status))) ??
      (isConnectionFailure(error)
        ? { errorClass: 'network', recoverable: true }
        : { errorClass: 'model_error', recoverable: false }));
  const retryAfterMs = retryAfter(apiError?.headers);
  const apiMessage = (error as { apiMessage?: unknown } | undefined)?.apiMessage;
  const message = typeof apiMessage === 'string' ? apiMessage : messageOf(error);
  return new AgentchartError({
    code: 'MODEL_ERROR',
    message: `Anthropic API error (${classified.errorClass}${status === undefined ? '' : `, HTTP ${status}`}): ${message}`,
    details: {
      ...classified,
      ...(status === undefined ? {} : { status }),
      ...(type === undefined ? {} : { type }),
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      ...(typeof apiError?.requestID === 'string' ? { requestId: apiError.requestID } : {}),
    },
    cause: error,
  });
}

function statusRange(status: number): Classified {
  return status >= 500
    ? { errorClass: 'server_error', recoverable: true }
    : { errorClass: 'model_error', recoverable: false };
}

function retryAfter(headers: ApiErrorLike['headers']): number | undefined {
  if (typeof headers?.get !== 'function') return undefined;
  const ms = Number.parseFloat(headers.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const seconds = Number.parseFloat(headers.get('retry-after') ?? '');
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  return undefined;
}

/** Whether the error (or one of its causes) is a connection that failed or was cut: worth a retry. */
function isConnectionFailure(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const { name, message, code } = current as { name?: unknown; message?: unknown; code?: unknown };
    if (name === 'APIConnectionError') return true;
    if (typeof code === 'string' && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(code)) return true;
    if (
      name === 'TypeError' &&
      typeof message === 'string' &&
      /terminated|fetch failed|socket/i.test(message)
    )
      return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
