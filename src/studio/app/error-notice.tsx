import type { ApiError } from './api-client.js';

/** A failure of the API, with its code: announced to screen readers as it appears. */
export function ErrorNotice({ error }: { error: ApiError | undefined }) {
  if (error === undefined) return null;
  return (
    <p role="alert" class="error-notice">
      <code class="error-code">{error.code}</code> {error.message}
    </p>
  );
}
