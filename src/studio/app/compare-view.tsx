import type { RunComparison, RunSide } from '../../index.js';
import { api } from './api-client.js';
import { ErrorNotice } from './error-notice.js';
import { formatCost, formatCount, formatDelta, formatValue, totalTokens } from './format.js';
import { hrefOf } from './route.js';
import { StatusBadge } from './status-badge.js';
import { useResource } from './use-resource.js';

function ToolCalls({ side }: { side: RunSide }) {
  if (side.toolCallsOnlyHere.length === 0) return <p class="muted">none</p>;
  return (
    <ul>
      {side.toolCallsOnlyHere.map((call, index) => (
        <li key={index}>
          <code>{call.toolName}</code> <code class="small">{formatValue(call.input)}</code>
        </li>
      ))}
    </ul>
  );
}

function Summary({ comparison }: { comparison: RunComparison }) {
  const { a, b, usageDelta } = comparison;
  const rows: [string, string, string, string][] = [
    ['Turns', String(a.turns), String(b.turns), formatDelta(usageDelta.turns)],
    ['Checkpoints', String(a.checkpoints), String(b.checkpoints), formatDelta(b.checkpoints - a.checkpoints)],
    [
      'Input tokens',
      formatCount(a.usage.inputTokens),
      formatCount(b.usage.inputTokens),
      formatDelta(usageDelta.inputTokens),
    ],
    [
      'Output tokens',
      formatCount(a.usage.outputTokens),
      formatCount(b.usage.outputTokens),
      formatDelta(usageDelta.outputTokens),
    ],
    [
      'All tokens',
      formatCount(totalTokens(a.usage)),
      formatCount(totalTokens(b.usage)),
      formatDelta(totalTokens(b.usage) - totalTokens(a.usage)),
    ],
    ['Cost', formatCost(a.costUsd), formatCost(b.costUsd), formatDelta(usageDelta.costUsd, formatCost)],
  ];
  return (
    <table class="compare-table">
      <thead>
        <tr>
          <th scope="col" />
          <th scope="col">
            A <a href={hrefOf({ view: 'runs', runId: a.runId })}>{a.runId}</a>{' '}
            <StatusBadge status={a.status} />
          </th>
          <th scope="col">
            B <a href={hrefOf({ view: 'runs', runId: b.runId })}>{b.runId}</a>{' '}
            <StatusBadge status={b.status} />
          </th>
          <th scope="col">B − A</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([label, left, right, delta]) => (
          <tr key={label}>
            <th scope="row">{label}</th>
            <td>{left}</td>
            <td>{right}</td>
            <td>{delta}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Two runs side by side: where they part, a diff of their answers, usage and cost deltas, and the tool calls only one made. */
export function CompareView({ a, b }: { a: string; b: string }) {
  const comparison = useResource(`${a}|${b}`, () => api.compare(a, b));
  const data = comparison.data;
  return (
    <section class="compare" aria-labelledby="compare-heading">
      <h2 id="compare-heading">
        Compare <code>{a}</code> and <code>{b}</code>
      </h2>
      <ErrorNotice error={comparison.error} />
      {data !== undefined && (
        <>
          <dl class="facts">
            <dt>Common ancestor</dt>
            <dd data-testid="common-ancestor">
              {data.commonAncestor === null ? (
                'none (they share no history)'
              ) : (
                <a
                  href={hrefOf({
                    view: 'runs',
                    runId: data.commonAncestor.slice(0, data.commonAncestor.lastIndexOf('@')),
                    checkpointId: data.commonAncestor,
                  })}
                >
                  {data.commonAncestor}
                </a>
              )}
            </dd>
            <dt>Divergence</dt>
            <dd data-testid="divergence">
              {data.divergence === null
                ? 'none: the same conversation'
                : `at message #${data.divergence.messageIndex}, in turn ${data.divergence.turn}`}
            </dd>
          </dl>
          <Summary comparison={data} />
          <h3>Answers</h3>
          <pre class="diff" data-testid="answer-diff">
            {data.outputDiff.map((line, index) => (
              <div key={index} class={`diff-${line.op}`}>
                {line.op === 'added' ? '+ ' : line.op === 'removed' ? '− ' : '  '}
                {line.line}
              </div>
            ))}
          </pre>
          <div class="two-columns">
            <div>
              <h3>Tool calls only A made</h3>
              <ToolCalls side={data.a} />
            </div>
            <div>
              <h3>Tool calls only B made</h3>
              <ToolCalls side={data.b} />
            </div>
          </div>
        </>
      )}
    </section>
  );
}
