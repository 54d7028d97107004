import { toAsyncIterable } from '../../streaming/to-async-iterable.js';
import { createRunControls } from './run-controls.js';
import type { LoadedRun, RunEnvironment } from './run-environment.js';
import type { RunHandle } from './run-handle.js';
import { createRunLifecycle } from './run-lifecycle.js';
import type { RunSpec } from './run-spec.js';

/**
 * Launches a run in a runtime: its lifecycle (see `createRunLifecycle`) and the handle its caller
 * holds. Returns at once; `started` resolves once the run is in its store (or was refused: its
 * result then says why). The runtime knows the run as loaded until it ends or leaves.
 */
export function launchRun(
  environment: RunEnvironment,
  spec: RunSpec,
): { handle: RunHandle; started: Promise<void> } {
  let loaded: LoadedRun | undefined;
  let finished = false;
  // Forgotten the moment it ends or leaves: a control then loads it again.
  const lifecycle = createRunLifecycle(environment, spec, () => {
    finished = true;
    if (loaded !== undefined && environment.loaded.get(spec.runId) === loaded)
      environment.loaded.delete(spec.runId);
  });
  const handle: RunHandle = {
    id: spec.runId,
    events$: lifecycle.events$,
    result: lifecycle.result,
    started: lifecycle.started.catch(() => {}),
    actor: lifecycle.actor,
    [Symbol.asyncIterator]: () => toAsyncIterable(lifecycle.events$)[Symbol.asyncIterator](),
    ...createRunControls(lifecycle, { registry: lifecycle.registry, reload: environment.reload }),
  };
  loaded = {
    handle,
    leave: lifecycle.leave,
    async checkpointsFlushed() {
      await lifecycle.started;
      const { state } = lifecycle;
      if (state.kind === 'live' || state.kind === 'leaving') await state.checkpointer.flushed();
    },
  };
  if (!finished) environment.loaded.set(spec.runId, loaded);
  return { handle, started: lifecycle.started };
}
