import { describe, expect, it } from 'vitest';
import { AgentchartError } from '../agentchart-error.js';
import { classifyAnthropicError } from './anthropic-errors.js';

const headers = (entries: Record<string, string>) => new Headers(entries);

describe('classifyAnthropicError', () => {
  it.each([
    [{ status: 400 }, 'invalid_request', false],
    [{ status: 401 }, 'authentication', false],
    [{ status: 403 }, 'permission', false],
    [{ status: 404 }, 'not_found', false],
    [{ status: 429 }, 'rate_limited', true],
    [{ status: 500 }, 'server_error', true],
    [{ status: 503 }, 'server_error', true],
    [{ status: 529 }, 'overloaded', true],
    [{ status: 418 }, 'model_error', false],
    [{ type: 'overloaded_error' }, 'overloaded', true],
    [{ type: 'api_error' }, 'server_error', true],
    [{ name: 'APIConnectionTimeoutError' }, 'timeout', true],
    [{ name: 'APIConnectionError' }, 'network', true],
    [{ cause: new TypeError('terminated') }, 'network', true],
    [{ cause: Object.assign(new Error('read'), { code: 'ECONNRESET' }) }, 'network', true],
    [{ name: 'AnthropicError' }, 'model_error', false],
  ])('classifies %o as %s (recoverable: %s)', (fields, errorClass, recoverable) => {
    const error = Object.assign(new Error('failed'), fields);
    const classified = classifyAnthropicError(error);
    expect(classified.code).toBe('MODEL_ERROR');
    expect(classified.details).toMatchObject({ errorClass, recoverable });
    expect(classified.cause).toBe(error);
  });

  it('reads retry-after-ms before retry-after', () => {
    const both = Object.assign(new Error('x'), {
      status: 429,
      headers: headers({ 'retry-after-ms': '250', 'retry-after': '9' }),
    });
    const seconds = Object.assign(new Error('x'), { status: 429, headers: headers({ 'retry-after': '2' }) });
    expect(classifyAnthropicError(both).details.retryAfterMs).toBe(250);
    expect(classifyAnthropicError(seconds).details.retryAfterMs).toBe(2000);
  });

  it('passes an AgentchartError through unchanged', () => {
    const error = new AgentchartError({ code: 'MODEL_STREAM_STALLED', message: 'idle' });
    expect(classifyAnthropicError(error)).toBe(error);
  });
});
