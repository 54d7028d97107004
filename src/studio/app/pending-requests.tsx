import { useState } from 'preact/hooks';
import type { PendingRequest } from '../../index.js';
import type { ApiError } from './api-client.js';
import { api } from './api-client.js';
import { ErrorNotice } from './error-notice.js';
import { formatValue } from './format.js';

/** An answer as the CLI reads it: JSON when it parses, else the text as it is. */
function answerValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** One request the run waits on, with its form: an answer, or approve and reject. */
function RequestForm({
  runId,
  request,
  onDone,
}: {
  runId: string;
  request: PendingRequest;
  onDone: () => void;
}) {
  const [answer, setAnswer] = useState('');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const send = async (body: Parameters<typeof api.request>[2]) => {
    setBusy(true);
    setError(undefined);
    try {
      await api.request(runId, request.requestId, body);
      onDone();
    } catch (failure) {
      setError(failure as ApiError);
    } finally {
      setBusy(false);
    }
  };
  const id = `request-${request.requestId.replace(/[^\w-]/g, '_')}`;
  return (
    <li class="request" aria-labelledby={`${id}-prompt`}>
      <p id={`${id}-prompt`}>
        <strong>{request.kind === 'input' ? 'Question' : 'Approval'}</strong> from{' '}
        <code>{request.toolName}</code>: {request.prompt}
      </p>
      <details>
        <summary>Tool call input</summary>
        <pre class="value">{formatValue(request.input)}</pre>
      </details>
      {request.kind === 'input' ? (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void send({ action: 'answer', value: answerValue(answer) });
          }}
        >
          <label for={`${id}-answer`}>Answer (JSON, or text)</label>
          <textarea
            id={`${id}-answer`}
            rows={2}
            value={answer}
            onInput={(event) => setAnswer(event.currentTarget.value)}
          />
          <button type="submit" disabled={busy}>
            Answer
          </button>
        </form>
      ) : (
        <div class="actions">
          <button type="button" disabled={busy} onClick={() => void send({ action: 'approve' })}>
            Approve
          </button>
          <label for={`${id}-reason`}>Reason</label>
          <input
            id={`${id}-reason`}
            value={reason}
            onInput={(event) => setReason(event.currentTarget.value)}
          />
          <button
            type="button"
            disabled={busy}
            onClick={() => void send(reason === '' ? { action: 'reject' } : { action: 'reject', reason })}
          >
            Reject
          </button>
        </div>
      )}
      <ErrorNotice error={error} />
    </li>
  );
}

/** What a run waits on: its questions and approvals, each answerable here. */
export function PendingRequests({
  runId,
  requests,
  onDone,
}: {
  runId: string;
  requests: readonly PendingRequest[];
  onDone: () => void;
}) {
  if (requests.length === 0) return null;
  return (
    <section class="requests" aria-labelledby="requests-heading">
      <h3 id="requests-heading">Waiting on ({requests.length})</h3>
      <ul>
        {requests.map((request) => (
          <RequestForm runId={runId} request={request} onDone={onDone} key={request.requestId} />
        ))}
      </ul>
    </section>
  );
}
