import { dollars, type RunModel, type SpanBar } from './model.js';
import { VirtualList } from './virtual-list.js';

/** The run's span waterfall: activations under the activation that enabled them, model and tool calls inside. */
export function Timeline({ model }: { model: RunModel }) {
  const rows = model.waterfall();
  if (rows.length === 0) return <p class="muted" data-testid="timeline">No activations yet.</p>;
  const now = model.lastTime ?? 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const { bar } of rows) {
    min = Math.min(min, bar.start);
    max = Math.max(max, bar.end ?? now, bar.start);
  }
  const span = Math.max(1, max - min);
  // What each activation's model calls spent, for its bar's hover.
  const spent = new Map<string, { tokens: number; cost: number; calls: number }>();
  for (const { bar } of rows) {
    if (bar.kind !== 'model' || bar.parentId === undefined) continue;
    const s = spent.get(bar.parentId) ?? { tokens: 0, cost: 0, calls: 0 };
    s.tokens += Number(bar.detail.inputTokens ?? 0) + Number(bar.detail.outputTokens ?? 0);
    s.cost += Number(bar.detail.cost ?? 0);
    s.calls += 1;
    spent.set(bar.parentId, s);
  }
  return (
    <div class="timeline" data-testid="timeline">
      <div class="axis muted">
        <span>0 ms</span>
        <span>{Math.round(span)} ms</span>
      </div>
      <VirtualList
        items={rows}
        rowHeight={20}
        height={440}
        testId="waterfall"
        row={({ bar, depth }) => {
          const end = bar.end ?? now;
          const left = ((bar.start - min) / span) * 100;
          const width = Math.max(0.3, ((end - bar.start) / span) * 100);
          return (
            <div class="wf-row" data-kind={bar.kind} data-span={bar.id}>
              <span class="wf-label" style={{ paddingLeft: `${depth * 12}px` }} title={bar.id}>
                {bar.name}
                {typeof bar.detail.key === 'string' ? `[${bar.detail.key}]` : ''}
              </span>
              <span class="wf-track">
                <span
                  class={`wf-bar ${bar.kind} ${bar.status}`}
                  style={{ left: `${left}%`, width: `${width}%` }}
                  title={describe(bar, end, spent.get(bar.id))}
                />
              </span>
            </div>
          );
        }}
      />
    </div>
  );
}

/** What hovering a bar shows: latency, tokens, cost and the span's attributes. */
export function describe(
  bar: SpanBar,
  end: number,
  inside?: { tokens: number; cost: number; calls: number },
): string {
  const lines = [`${bar.name} (${bar.status})`, `latency: ${Math.round(end - bar.start)} ms`];
  const d = bar.detail;
  if (inside) lines.push(`model calls: ${inside.calls}, ${inside.tokens} tokens, ${dollars(inside.cost)}`);
  if (bar.kind === 'model') {
    lines.push(`tokens: ${Number(d.inputTokens ?? 0)} in, ${Number(d.outputTokens ?? 0)} out`);
    lines.push(`cost: ${dollars(Number(d.cost ?? 0))}`);
  }
  for (const [k, v] of Object.entries(d)) {
    if (!['inputTokens', 'outputTokens', 'cost', 'latencyMs'].includes(k)) lines.push(`${k}: ${String(v)}`);
  }
  return lines.join('\n');
}
