import { waitFor } from 'xstate';
import { z } from 'zod';
import { AgentchartError } from '../../agentchart-error.js';
import type { AgentRunActor } from '../../machines/agent-run-machine.js';
import type { RequestAnswer } from '../../pending-request.js';
import type { CheckpointMeta } from '../../persistence/checkpoint-envelope.js';
import type { RunResult } from '../../run-result.js';
import type { ToolRegistry } from '../../tools/tool-registry.js';
import { type CheckpointLabel, persistWithoutContext } from '../checkpoints/checkpointer.js';
import { parseQuery } from '../runtime-config.js';
import type { RunHandle } from './run-handle.js';
import type { RunLifecycle } from './run-lifecycle.js';

/** Where a control goes: to the run's live actor here, to the run loaded again, or nowhere (ended). */
type Target =
  | { kind: 'here' }
  | { kind: 'reloaded'; handle: RunHandle }
  | { kind: 'ended'; result: RunResult };

/** What the controls of a run need besides its lifecycle. */
export interface RunControlsHost {
  /** The tools of the run, for answers to its questions. */
  registry: ToolRegistry;
  /** Loads the run again from its store, once it has left this process (`RUNTIME_CLOSED` after close). */
  reload(runId: string): Promise<RunHandle>;
}

/** The controls of a run's handle, each a function of where the run is (its lifecycle state). */
export type RunControls = Pick<
  RunHandle,
  'checkpoint' | 'pause' | 'resume' | 'cancel' | 'respond' | 'approve' | 'reject' | 'unload'
>;

/** Creates the controls of a run (see {@link RunHandle}). */
export function createRunControls(run: RunLifecycle, host: RunControlsHost): RunControls {
  const { runId, actor } = run;
  const ended = () =>
    new AgentchartError({ code: 'RUN_ENDED', message: `Run '${runId}' has ended`, details: { runId } });

  /** Where the run is now: a control waits out a start or a leave, then acts here or on the run loaded again. */
  const target = async (): Promise<Target> => {
    await run.started;
    await run.settled();
    const { state } = run;
    switch (state.kind) {
      case 'starting':
      case 'live':
      case 'leaving':
        return { kind: 'here' };
      case 'parked':
      case 'detached': {
        const handle = await host.reload(runId);
        // The runtime forgets a run the moment it leaves: finding it again would forward forever.
        if (handle.actor === actor)
          throw new Error(`agentchart: run '${runId}' left, and was found again as it was`);
        return { kind: 'reloaded', handle };
      }
      case 'ended':
        return { kind: 'ended', result: state.result };
    }
  };
  /** Acts on the live actor here, forwards to the run loaded again, or refuses with `RUN_ENDED`. */
  const control =
    <Args extends unknown[], T>(
      here: (...args: Args) => Promise<T> | T,
      forward: (handle: RunHandle, ...args: Args) => Promise<T>,
    ) =>
    async (...args: Args): Promise<T> => {
      const where = await target();
      if (where.kind === 'reloaded') return forward(where.handle, ...args);
      if (where.kind === 'ended' || actor.getSnapshot().status !== 'active') throw ended();
      return here(...args);
    };

  return {
    async checkpoint(label: CheckpointLabel = {}): Promise<CheckpointMeta> {
      parseQuery('run.checkpoint', label);
      await run.started;
      const { state } = run;
      const snapshot = actor.getSnapshot();
      if (state.kind !== 'live' || snapshot.status !== 'active') {
        throw new AgentchartError({
          code: 'RUN_ENDED',
          message: `Run '${runId}' is not live here (${state.kind}); it takes no more checkpoints`,
          details: { runId },
        });
      }
      return state.checkpointer.checkpoint(snapshot, persistWithoutContext(actor), label);
    },
    pause: control(
      async () => {
        actor.send({ type: 'PAUSE' });
        await waitFor(actor, (snapshot) => snapshot.value === 'paused' || snapshot.status !== 'active');
        const { state } = run;
        if (state.kind === 'live') await state.checkpointer.flushed().catch(() => {});
      },
      (handle) => handle.pause(),
    ),
    resume: control(
      () => actor.send({ type: 'RESUME' }),
      (handle) => handle.resume(),
    ),
    async cancel(reason = 'cancelled') {
      const where = await target();
      if (where.kind === 'reloaded') return where.handle.cancel(reason);
      if (where.kind === 'here' && actor.getSnapshot().status === 'active')
        actor.send({ type: 'CANCEL', reason });
      return run.result;
    },
    respond: control(
      (requestId: string, value: unknown) =>
        sendAnswer(actor, host.registry, requestId, { kind: 'input', value }),
      (handle, requestId, value) => handle.respond(requestId, value),
    ),
    approve: control(
      (requestId: string) =>
        sendAnswer(actor, host.registry, requestId, { kind: 'approval', approved: true }),
      (handle, requestId) => handle.approve(requestId),
    ),
    reject: control(
      (requestId: string, reason = 'rejected') =>
        sendAnswer(actor, host.registry, requestId, { kind: 'approval', approved: false, reason }),
      (handle, requestId, reason) => handle.reject(requestId, reason),
    ),
    unload: () => run.leave('unloaded'),
  };
}

/**
 * Checks an answer against the run's pending request and sends it: `REQUEST_NOT_FOUND` for a
 * request the run is not waiting on, `INVALID_ARGUMENT` for an answer of the wrong kind,
 * `TOOL_NOT_FOUND` for an approval or an answer whose tool the run's registry lacks (a rejection
 * needs none), and `INPUT_INVALID` (with zod's issues) for a value that fails the question's answer
 * schema. A refused answer changes nothing: the run keeps waiting.
 */
export function sendAnswer(
  actor: AgentRunActor,
  registry: ToolRegistry,
  requestId: string,
  answer: RequestAnswer,
): void {
  const snapshot = actor.getSnapshot();
  const { runId } = snapshot.context;
  const request = snapshot.context.pendingRequests.find((pending) => pending.requestId === requestId);
  if (request === undefined || snapshot.status !== 'active') {
    throw new AgentchartError({
      code: 'REQUEST_NOT_FOUND',
      message: `Run '${runId}' is not waiting on a request '${requestId}'`,
      details: {
        runId,
        requestId,
        pending: snapshot.context.pendingRequests.map((pending) => pending.requestId),
      },
    });
  }
  if (request.kind !== answer.kind) {
    const use = request.kind === 'input' ? 'respond()' : 'approve() or reject()';
    throw new AgentchartError({
      code: 'INVALID_ARGUMENT',
      message: `Request '${requestId}' asks for ${request.kind === 'input' ? 'an answer' : 'an approval'}: use ${use}`,
      details: { runId, requestId, kind: request.kind },
    });
  }
  // An approved call or an answered question goes to the request's tool: without it, the call
  // would only ever fail as an unknown tool. A rejection runs nothing, and needs no tool.
  const rejected = answer.kind === 'approval' && !answer.approved;
  if (!rejected && registry.get(request.toolName) === undefined) {
    throw new AgentchartError({
      code: 'TOOL_NOT_FOUND',
      message: `Request '${requestId}' of run '${runId}' is for tool '${request.toolName}', which this runtime does not have: give it the run's tools to ${answer.kind === 'input' ? 'answer' : 'approve'} it`,
      details: { runId, requestId, toolName: request.toolName },
    });
  }
  let checked = answer;
  if (answer.kind === 'input') {
    const schema = registry.get(request.toolName)?.answer ?? z.unknown();
    const parsed = schema.safeParse(answer.value);
    if (!parsed.success) {
      throw new AgentchartError({
        code: 'INPUT_INVALID',
        message: `The answer to '${requestId}' does not match its schema:\n${z.prettifyError(parsed.error)}`,
        details: {
          runId,
          requestId,
          issues: parsed.error.issues.map(({ path, message }) => ({ path, message })),
        },
      });
    }
    checked = { kind: 'input', value: parsed.data };
  }
  actor.send({ type: 'RESPOND', requestId, answer: checked });
}
