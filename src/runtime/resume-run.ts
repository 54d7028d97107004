import { randomUUID } from 'node:crypto';
import { AgentchartError } from '../agentchart-error.js';
import type { AgentRunContext } from '../machines/agent-run-types.js';
import type { CheckpointEnvelope } from '../persistence/checkpoint-envelope.js';
import type { CheckpointStore } from '../persistence/checkpoint-store.js';
import { signalOf } from './cancel-token.js';
import { isTerminal } from './checkpoint-policy.js';
import { buildEnvelope } from './checkpointer.js';
import { launchRun, type RunEnvironment } from './launch-run.js';
import { type CheckpointMigrations, loadCheckpoint, type ResumeSource } from './load-checkpoint.js';
import type { RunHandle } from './run-handle.js';
import { inputTextOf } from './run-outcome.js';
import { defined, type ResumeOptions } from './runtime-config.js';
import { expandSnapshot } from './snapshot-codec.js';

/** Errors a run may end with and still be continued, with new limits or a new deadline. */
const continuable = new Set(['budget_exceeded', 'timeout']);

/**
 * Resumes a run from a checkpoint (see `Runtime.resume`). A checkpoint where a run ended on a
 * budget or a timeout continues that run from the step before its end, with the limits and
 * deadline given in `options`.
 */
export async function resumeRun(
  environment: RunEnvironment,
  store: CheckpointStore,
  migrations: CheckpointMigrations,
  from: ResumeSource,
  options: ResumeOptions,
): Promise<RunHandle> {
  let envelope = await loadCheckpoint(from, store, migrations);
  const headId = envelope.id;
  const continuation = isTerminal(envelope.phase);
  if (continuation) envelope = await lastStepBefore(envelope, store, migrations);
  const existing = await store.getRun(envelope.runId);
  const continues =
    options.runId === undefined && (existing === undefined || existing.headCheckpointId === headId);
  const runId = continues ? envelope.runId : (options.runId ?? `run_${randomUUID()}`);
  if (environment.active.has(runId)) {
    throw new AgentchartError({
      code: 'RUN_ACTIVE',
      message: `Run '${runId}' is already running in this runtime`,
      details: { runId },
    });
  }
  const context = withOptions(
    { ...envelope.context, runId },
    options,
    continuation ? (envelope.phase as 'plan' | 'act') : undefined,
  );
  const { messages, limits } = context;
  const { handle, started } = launchRun(environment, {
    runId,
    inputText: inputTextOf(messages),
    start: {
      input: { runId, messages, limits },
      snapshot: expandSnapshot(envelope.snapshot, context),
      resumedFrom: headId,
    },
    prepare: async ({ snapshot, persisted }) => {
      if (continues && existing !== undefined) return { store, record: existing, created: false };
      // A checkpoint from elsewhere (a file, another store) becomes its run's first here; an older
      // checkpoint of a run, or a copy under a new id, starts a new run whose first checkpoint follows it.
      const firstCheckpoint = continues
        ? envelope
        : buildEnvelope({ runId, stepNum: 0, parentId: headId, forkOf: headId }, snapshot, persisted);
      const record = await store.createRun({
        runId,
        forkOf: firstCheckpoint.forkOf,
        messages,
        firstCheckpoint,
      });
      return { store, record, created: !continues };
    },
    signal: signalOf(options.signal),
  });
  await started;
  return handle;
}

/** The last live checkpoint before a run's end, if the run ended in a way that can be continued. */
async function lastStepBefore(
  end: CheckpointEnvelope,
  store: CheckpointStore,
  migrations: CheckpointMigrations,
): Promise<CheckpointEnvelope> {
  const error = end.context.error;
  if (
    end.phase !== 'failed' ||
    error?.recoverable !== true ||
    !continuable.has(error.errorClass) ||
    end.parentId === null
  ) {
    throw new AgentchartError({
      code: 'RUN_ENDED',
      message: `Checkpoint '${end.id}' is the end of its run (${end.phase}${error ? `: ${error.errorClass}` : ''}); there is nothing to resume`,
      details: { checkpointId: end.id, status: end.status },
    });
  }
  const previous = await loadCheckpoint(end.parentId, store, migrations);
  if (isTerminal(previous.phase))
    throw new AgentchartError({
      code: 'CHECKPOINT_INVALID',
      message: `Checkpoint '${previous.id}' before '${end.id}' is terminal too`,
    });
  return previous;
}

/**
 * The context with the resume options applied: raised limits, and a new total deadline from now.
 * A run continued after its end (`phase` given) also gets a fresh deadline for the phase it
 * restarts in; otherwise deadlines stay as they were, and one that has passed fires at once.
 */
function withOptions(
  context: AgentRunContext,
  options: ResumeOptions,
  phase: 'plan' | 'act' | undefined,
): AgentRunContext {
  const now = Date.now();
  const timeouts =
    options.timeoutMs === undefined ? context.timeouts : { ...context.timeouts, totalMs: options.timeoutMs };
  const deadlines = { ...context.deadlines };
  if (options.timeoutMs !== undefined) deadlines.total = now + options.timeoutMs;
  if (phase === 'plan' && timeouts.planMs !== undefined) deadlines.plan = now + timeouts.planMs;
  if (phase === 'act' && timeouts.actMs !== undefined) deadlines.act = now + timeouts.actMs;
  return {
    ...context,
    limits: { ...context.limits, ...defined(options.limits ?? {}) },
    timeouts,
    deadlines,
    error: undefined,
  };
}
