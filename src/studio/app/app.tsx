import { api } from './api-client.js';
import { CompareView } from './compare-view.js';
import { ErrorNotice } from './error-notice.js';
import { hrefOf, useRoute } from './route.js';
import { RunView } from './run-view.js';
import { RunsList } from './runs-list.js';
import { useResource } from './use-resource.js';

/** The studio: the runs list beside the selected run (or a comparison), routed by the location hash. */
export function App() {
  const route = useRoute();
  const config = useResource('config', api.config);
  const graph = useResource('machine', api.machine);
  const runId = route.view === 'runs' ? route.runId : undefined;
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to the run
      </a>
      <header class="top">
        <h1>
          <a href={hrefOf({ view: 'runs' })}>agentchart studio</a>
        </h1>
        <p class="muted small">j/k or ↑/↓ move through a focused list</p>
      </header>
      <div class="layout">
        <aside>
          <RunsList selected={runId} statuses={config.data?.statuses ?? []} />
        </aside>
        <main id="main" tabIndex={-1}>
          <ErrorNotice error={config.error ?? graph.error} />
          {route.view === 'compare' ? (
            <CompareView a={route.a} b={route.b} key={`${route.a}|${route.b}`} />
          ) : runId === undefined ? (
            <p class="muted">Select a run.</p>
          ) : (
            <RunView
              key={runId}
              runId={runId}
              checkpointId={route.checkpointId}
              graph={graph.data}
              config={config.data}
            />
          )}
        </main>
      </div>
    </>
  );
}
