/**
 * The app's client of the studio's JSON API: one typed function per endpoint, with the types the
 * server declares (`studio-api.ts`) and the runtime exports. Paths are relative to the page, so the
 * app works wherever the studio is mounted.
 */
import type { CheckpointStatus, ReplayReport, RunComparison, RunResult, RunStatusInfo } from '../../index.js';
import type {
  ForkBody,
  RequestBody,
  StudioCheckpoint,
  StudioConfig,
  StudioErrorBody,
  StudioForkTree,
  StudioMachineGraph,
  StudioRun,
  StudioRunSummary,
} from '../studio-api.js';

/** A failure the API answered: its code (`RUN_NOT_FOUND`, `INPUT_INVALID`, …), message and status. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

async function call<T>(path: string, body?: unknown): Promise<T> {
  const init: RequestInit =
    body === undefined
      ? {}
      : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  let response: Response;
  try {
    response = await fetch(`api/${path}`, init);
  } catch (error) {
    throw new ApiError('NETWORK', `The studio did not answer: ${String(error)}`, 0);
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ApiError('INTERNAL', `The studio answered ${response.status} without JSON`, response.status);
  }
  if (!response.ok) {
    const { error } = parsed as Partial<StudioErrorBody>;
    throw new ApiError(
      error?.code ?? 'INTERNAL',
      error?.message ?? `HTTP ${response.status}`,
      response.status,
    );
  }
  return parsed as T;
}

const part = encodeURIComponent;

/** Every endpoint of the studio's API. */
export const api = {
  config: () => call<StudioConfig>('config'),
  machine: () => call<StudioMachineGraph>('machine'),
  runs: (status?: CheckpointStatus) => call<StudioRunSummary[]>(status ? `runs?status=${status}` : 'runs'),
  run: (runId: string) => call<StudioRun>(`runs/${part(runId)}`),
  tree: (runId: string) => call<StudioForkTree>(`runs/${part(runId)}/tree`),
  checkpoint: (checkpointId: string) => call<StudioCheckpoint>(`checkpoints/${part(checkpointId)}`),
  compare: (a: string, b: string) => call<RunComparison>(`compare?a=${part(a)}&b=${part(b)}`),
  pause: (runId: string) => call<RunStatusInfo>(`runs/${part(runId)}/pause`, {}),
  resume: (runId: string) => call<RunStatusInfo>(`runs/${part(runId)}/resume`, {}),
  cancel: (runId: string, reason?: string) =>
    call<RunResult>(`runs/${part(runId)}/cancel`, reason === undefined ? {} : { reason }),
  replay: (runId: string, untilStep?: number) =>
    call<ReplayReport>(`runs/${part(runId)}/replay`, untilStep === undefined ? {} : { untilStep }),
  request: (runId: string, requestId: string, body: RequestBody) =>
    call<RunStatusInfo>(`runs/${part(runId)}/requests/${part(requestId)}`, body),
  fork: (checkpointId: string, body: ForkBody) =>
    call<{ runId: string }>(`checkpoints/${part(checkpointId)}/fork`, body),
  /** The run's events as Server-Sent Events, from its log then live (an `EventSource` URL). */
  eventsUrl: (runId: string) => `api/runs/${part(runId)}/events`,
};
