import { randomUUID } from 'node:crypto';
import { AgentchartError } from '../../agentchart-error.js';
import type { AgentRunContext } from '../../machines/agent-run-types.js';
import { sharedPrefix } from '../../model/message.js';
import type { CheckpointEnvelope } from '../../persistence/checkpoint-envelope.js';
import type { CheckpointStore } from '../../persistence/checkpoint-store.js';
import { fencedStore } from '../../persistence/fenced-store.js';
import { signalOf } from '../run/cancel-token.js';
import { launchRun } from '../run/launch-run.js';
import type { RunEnvironment } from '../run/run-environment.js';
import { eventSeqRange } from '../run/run-events.js';
import type { RunHandle } from '../run/run-handle.js';
import { inputTextOf } from '../run/run-outcome.js';
import { defined, type ResumeOptions } from '../runtime-config.js';
import { isTerminal } from './checkpoint-policy.js';
import { buildEnvelope } from './checkpointer.js';
import { type CheckpointMigrations, loadCheckpoint, type ResumeSource } from './load-checkpoint.js';
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
  const envelope = await loadCheckpoint(from, store, migrations);
  const headId = envelope.id;
  const continuation = isTerminal(envelope.phase);
  if (continuation) assertContinuable(envelope);
  const existing = await store.getRun(envelope.runId);
  const continues =
    options.runId === undefined && (existing === undefined || existing.headCheckpointId === headId);
  const runId = continues ? envelope.runId : (options.runId ?? `run_${randomUUID()}`);
  if (environment.loaded.has(runId)) {
    throw new AgentchartError({
      code: 'RUN_ACTIVE',
      message: `Run '${runId}' is already running in this runtime`,
      details: { runId },
    });
  }
  const context = withOptions({ ...envelope.context, runId }, options, continuation, environment.clock.now());
  const { messages, limits } = context;
  const input = { runId, messages, limits, ...(continuation ? { context } : {}) };
  // A run continued under its own id is taken over (its owner epoch moves on: whoever had it before
  // writes nothing more), and numbers its events from seqs no process has handed out.
  const claimed =
    continues && existing !== undefined ? await store.claimRun(runId, existing.version) : undefined;
  const firstSeqs = continues
    ? {
        start: await environment.eventLogs.reserveSeqs(
          runId,
          claimed === undefined ? store : fencedStore(store, claimed.epoch),
          eventSeqRange,
        ),
        count: eventSeqRange,
      }
    : undefined;
  const { handle, started } = launchRun(environment, {
    runId,
    ...(firstSeqs === undefined ? {} : { firstSeqs }),
    inputText: inputTextOf(messages),
    // A run that ended on a budget or a timeout starts again from its context, where it was.
    start: continuation
      ? { input, resumedFrom: headId }
      : { input, snapshot: expandSnapshot(envelope.snapshot, context), resumedFrom: headId },
    prepare: async ({ snapshot, persisted, eventSeqs }) => {
      if (claimed !== undefined) return { store, record: claimed, created: false };
      // A checkpoint from elsewhere (a file, another store) becomes its run's first here; an older
      // checkpoint of a run, or a copy under a new id, starts a new run whose first checkpoint follows it.
      const firstCheckpoint = continues
        ? envelope
        : buildEnvelope(
            { runId, stepNum: 0, parentId: headId, forkOf: headId },
            snapshot,
            persisted,
            {},
            environment.clock.now(),
          );
      // An imported run already reserved its seqs (firstSeqs) under its id.
      const reservedEventSeqs = continues ? 0 : eventSeqs;
      const record = await store.createRun({
        runId,
        forkOf: firstCheckpoint.forkOf,
        messages,
        firstCheckpoint,
        reservedEventSeqs,
        // A new run from an older checkpoint shares that checkpoint's messages.
        ...(continues
          ? {}
          : { inherits: { checkpointId: headId, count: sharedPrefix(envelope.context.messages, messages) } }),
      });
      return { store, record, created: !continues };
    },
    signal: signalOf(options.signal),
  });
  await started;
  return handle;
}

/** Refuses to continue a run that ended for good (done, cancelled, or failed in a way more limits would not fix). */
function assertContinuable(end: CheckpointEnvelope): void {
  const error = end.context.error;
  if (end.phase !== 'failed' || error?.recoverable !== true || !continuable.has(error.errorClass)) {
    throw new AgentchartError({
      code: 'RUN_ENDED',
      message: `Checkpoint '${end.id}' is the end of its run (${end.phase}${error ? `: ${error.errorClass}` : ''}); there is nothing to resume`,
      details: { checkpointId: end.id, status: end.status },
    });
  }
}

/**
 * The context with the resume options applied: raised limits, and a new total deadline from now.
 * Other deadlines stay as they were, so that one that has passed fires at once; a run continued
 * after its end (`continued`) enters its phase again, which sets that phase's deadline anew.
 */
function withOptions(
  context: AgentRunContext,
  options: ResumeOptions,
  continued: boolean,
  now: number,
): AgentRunContext {
  const timeouts =
    options.timeoutMs === undefined ? context.timeouts : { ...context.timeouts, totalMs: options.timeoutMs };
  const deadlines = continued
    ? { ...(context.deadlines.total === undefined ? {} : { total: context.deadlines.total }) }
    : { ...context.deadlines };
  if (options.timeoutMs !== undefined) deadlines.total = now + options.timeoutMs;
  const limits = { ...context.limits, ...defined(options.limits ?? {}) };
  return {
    ...context,
    limits,
    timeouts,
    deadlines,
    ...(continued ? { error: undefined, pausedFrom: undefined } : {}),
  };
}
