import type { StudioForkTree } from '../studio-api.js';
import { api } from './api-client.js';
import { ErrorNotice } from './error-notice.js';
import { hrefOf } from './route.js';
import { StatusBadge } from './status-badge.js';
import { useResource } from './use-resource.js';

function Branch({ node, current }: { node: StudioForkTree; current: string }) {
  return (
    <li>
      <a
        href={hrefOf({ view: 'runs', runId: node.runId })}
        aria-current={node.runId === current ? 'page' : undefined}
      >
        {node.runId}
      </a>{' '}
      <StatusBadge status={node.status} />
      {node.forkOf !== null && <span class="muted small"> from {node.forkOf}</span>}
      {node.children.length > 0 && (
        <ul>
          {node.children.map((child) => (
            <Branch node={child} current={current} key={child.runId} />
          ))}
        </ul>
      )}
    </li>
  );
}

/** The fork tree the run belongs to, from its root run; `version` changes when it may have grown. */
export function ForkTree({ runId, version }: { runId: string; version: string }) {
  const tree = useResource(`${runId}:${version}`, () => api.tree(runId));
  return (
    <section class="tree" aria-labelledby="tree-heading">
      <h3 id="tree-heading">Fork tree</h3>
      <ErrorNotice error={tree.error} />
      {tree.data !== undefined && (
        <ul class="fork-tree" data-testid="fork-tree">
          <Branch node={tree.data} current={runId} />
        </ul>
      )}
    </section>
  );
}
