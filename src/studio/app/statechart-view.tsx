import type { StudioMachineGraph } from '../studio-api.js';

const box = { width: 128, height: 40, columnGap: 64, rowGap: 34, margin: 24 };
/** The pseudo-state the machine's own transitions (`CANCEL`, `FAIL`, `TIMEOUT`) leave from. */
const anyState = '(any state)';

interface Placed {
  key: string;
  x: number;
  y: number;
  final: boolean;
}

/**
 * Places the states in columns by their distance from the initial state (breadth first over the
 * transitions), with the final states in a last column of their own, and the machine's own
 * transitions leaving from an "(any state)" box.
 */
export function layoutStatechart(graph: StudioMachineGraph): {
  nodes: Map<string, Placed>;
  width: number;
  height: number;
} {
  const depth = new Map<string, number>();
  const finals = graph.states.filter((state) => state.type === 'final').map((state) => state.key);
  const queue = graph.states.filter((state) => state.initial).map((state) => state.key);
  for (const key of queue) depth.set(key, 0);
  while (queue.length > 0) {
    const key = queue.shift() as string;
    for (const transition of graph.transitions) {
      if (transition.source !== key || depth.has(transition.target) || finals.includes(transition.target))
        continue;
      depth.set(transition.target, (depth.get(key) ?? 0) + 1);
      queue.push(transition.target);
    }
  }
  const lastColumn = Math.max(0, ...depth.values()) + 1;
  const columns: string[][] = [];
  for (const state of graph.states) {
    const column = finals.includes(state.key) ? lastColumn : (depth.get(state.key) ?? lastColumn - 1);
    columns[column] = [...(columns[column] ?? []), state.key];
  }
  if (graph.transitions.some((transition) => transition.source === null))
    columns[lastColumn - 1] = [...(columns[lastColumn - 1] ?? []), anyState];
  const nodes = new Map<string, Placed>();
  columns.forEach((keys, column) => {
    keys.forEach((key, row) => {
      nodes.set(key, {
        key,
        x: box.margin + column * (box.width + box.columnGap),
        y: box.margin + row * (box.height + box.rowGap),
        final: finals.includes(key),
      });
    });
  });
  const rows = Math.max(...columns.map((keys) => keys?.length ?? 0));
  return {
    nodes,
    width: 2 * box.margin + (lastColumn + 1) * box.width + lastColumn * box.columnGap,
    height: 2 * box.margin + rows * box.height + (rows - 1) * box.rowGap,
  };
}

/** Where the line from the centre of `from` to the centre of `to` leaves the box of `from`. */
function border(from: Placed, to: Placed): { x: number; y: number } {
  const [cx, cy] = [from.x + box.width / 2, from.y + box.height / 2];
  const [dx, dy] = [to.x + box.width / 2 - cx, to.y + box.height / 2 - cy];
  const scale = Math.min(
    dx === 0 ? Number.POSITIVE_INFINITY : box.width / 2 / Math.abs(dx),
    dy === 0 ? Number.POSITIVE_INFINITY : box.height / 2 / Math.abs(dy),
  );
  return { x: cx + dx * scale, y: cy + dy * scale };
}

/**
 * The run statechart, drawn from the machine's definition: a box per state, an arrow per pair of
 * states with the events that lead from one to the other, and the state `current` highlighted.
 * The transitions are listed as a table too, for readers who do not see the drawing.
 */
export function StatechartView({
  graph,
  current,
}: {
  graph: StudioMachineGraph;
  current: string | undefined;
}) {
  const { nodes, width, height } = layoutStatechart(graph);
  const edges = new Map<string, { source: string; target: string; events: Set<string> }>();
  for (const transition of graph.transitions) {
    const source = transition.source ?? anyState;
    const key = `${source}→${transition.target}`;
    const edge = edges.get(key) ?? { source, target: transition.target, events: new Set<string>() };
    edge.events.add(transition.event);
    edges.set(key, edge);
  }
  return (
    <figure class="statechart">
      <svg
        viewBox={`0 0 ${width} ${height}`}
        width={width}
        height={height}
        role="img"
        aria-labelledby="statechart-title"
      >
        <title id="statechart-title">
          The {graph.id} statechart (version {graph.version}){current ? `, in state ${current}` : ''}
        </title>
        <defs>
          <marker
            id="arrow"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="7"
            markerHeight="7"
            orient="auto-start-reverse"
          >
            <path d="M 0 0 L 10 5 L 0 10 z" class="arrow-head" />
          </marker>
        </defs>
        {[...edges.values()].map((edge) => {
          const from = nodes.get(edge.source);
          const to = nodes.get(edge.target);
          if (from === undefined || to === undefined) return null;
          const start = border(from, to);
          const end = border(to, from);
          // Two states joined both ways get two arcs, bent to opposite sides.
          const bend = edges.has(`${edge.target}→${edge.source}`) ? 18 : 0;
          const [mx, my] = [(start.x + end.x) / 2, (start.y + end.y) / 2];
          const length = Math.hypot(end.x - start.x, end.y - start.y) || 1;
          const [nx, ny] = [(-(end.y - start.y) / length) * bend, ((end.x - start.x) / length) * bend];
          const label = [...edge.events].join(', ');
          return (
            <g class="edge" key={`${edge.source}→${edge.target}`}>
              <path
                d={`M ${start.x} ${start.y} Q ${mx + nx * 2} ${my + ny * 2} ${end.x} ${end.y}`}
                marker-end="url(#arrow)"
              >
                <title>{`${edge.source} → ${edge.target}: ${label}`}</title>
              </path>
              <text x={mx + nx} y={my + ny - 3} class="edge-label">
                {label.length > 28 ? `${label.slice(0, 27)}…` : label}
              </text>
            </g>
          );
        })}
        {[...nodes.values()].map((node) => (
          <g
            key={node.key}
            class={`state${node.key === current ? ' current' : ''}${node.final ? ' final' : ''}${node.key === anyState ? ' any' : ''}`}
            data-state={node.key}
          >
            <rect x={node.x} y={node.y} width={box.width} height={box.height} rx={node.final ? 20 : 6} />
            <text x={node.x + box.width / 2} y={node.y + box.height / 2 + 5} text-anchor="middle">
              {node.key}
            </text>
          </g>
        ))}
      </svg>
      <figcaption>
        State at this checkpoint: <strong data-testid="current-state">{current ?? 'none'}</strong>
      </figcaption>
      <details>
        <summary>Transitions ({graph.transitions.length})</summary>
        <table class="transitions">
          <thead>
            <tr>
              <th scope="col">From</th>
              <th scope="col">Event</th>
              <th scope="col">Guard</th>
              <th scope="col">To</th>
            </tr>
          </thead>
          <tbody>
            {graph.transitions.map((transition, index) => (
              <tr key={index}>
                <td>{transition.source ?? anyState}</td>
                <td>{transition.event}</td>
                <td>{transition.guard ?? ''}</td>
                <td>{transition.target}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
