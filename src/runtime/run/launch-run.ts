import { toAsyncIterable } from '../../streaming/to-async-iterable.js';
import { createRunControls } from './run-controls.js';
import type { RunEnvironment } from './run-environment.js';
import type { RunHandle } from './run-handle.js';
import { createRunLifecycle, type RunSpec } from './run-lifecycle.js';

/**
 * Launches a run in a runtime: its lifecycle (see `createRunLifecycle`) and the handle its caller
 * holds. Returns at once; `started` resolves once the run is in its store (or was refused: its
 * result then says why).
 */
export function launchRun(
  environment: RunEnvironment,
  spec: RunSpec,
): { handle: RunHandle; started: Promise<void> } {
  const lifecycle = createRunLifecycle(environment, spec);
  const handle: RunHandle = {
    id: spec.runId,
    events$: lifecycle.events$,
    result: lifecycle.result,
    actor: lifecycle.actor,
    [Symbol.asyncIterator]: () => toAsyncIterable(lifecycle.events$)[Symbol.asyncIterator](),
    ...createRunControls(lifecycle, { registry: lifecycle.registry, reload: environment.reload }),
  };
  environment.loaded.set(spec.runId, { handle, lifecycle });
  return { handle, started: lifecycle.started };
}
