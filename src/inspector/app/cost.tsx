import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { dollars, type RunModel } from './model.js';

const COLORS = ['#2f6fde', '#d9480f', '#2b8a3e', '#862e9c', '#e67700', '#0b7285', '#c2255c', '#5c940d'];

/** Tokens and cost of the run in all and per agent, with cumulative cost over time per agent (uPlot). */
export function CostPanel({ model }: { model: RunModel }) {
  const agents = [...model.agents.entries()].filter(([, a]) => a.spend.tokens > 0 || a.spend.cost > 0 || a.spend.calls > 0);
  return (
    <div class="cost" data-testid="cost">
      <table class="grid">
        <thead>
          <tr>
            <th>agent</th>
            <th>calls</th>
            <th>input tokens</th>
            <th>output tokens</th>
            <th>tokens</th>
            <th>cost</th>
          </tr>
        </thead>
        <tbody>
          {agents.map(([id, a]) => (
            <tr key={id} data-agent={id}>
              <td>{id}</td>
              <td>{a.spend.calls}</td>
              <td>{a.spend.inputTokens}</td>
              <td>{a.spend.outputTokens}</td>
              <td>{a.spend.tokens}</td>
              <td>{dollars(a.spend.cost)}</td>
            </tr>
          ))}
          <tr class="total" data-testid="cost-total">
            <td>run</td>
            <td>{model.total.calls}</td>
            <td>{model.total.inputTokens}</td>
            <td>{model.total.outputTokens}</td>
            <td>{model.total.tokens}</td>
            <td>{dollars(model.total.cost)}</td>
          </tr>
        </tbody>
      </table>
      <CostChart model={model} />
    </div>
  );
}

/** The series the chart plots: seconds since the first charge, then cumulative cost per agent and in all. */
function series(model: RunModel): { agents: string[]; data: number[][] } {
  const points = model.usageSeries;
  const agents = [...new Set(points.map((p) => p[3]))].sort();
  const t0 = points[0]?.[0] ?? 0;
  const xs: number[] = [];
  const total: number[] = [];
  const per = agents.map(() => [] as number[]);
  const running = new Map<string, number>();
  let previous = 0;
  for (const [time, , cost, agent] of points) {
    running.set(agent, (running.get(agent) ?? 0) + (cost - previous));
    previous = cost;
    xs.push((time - t0) / 1000);
    total.push(cost);
    agents.forEach((a, i) => per[i]!.push(running.get(a) ?? 0));
  }
  return { agents, data: [xs, total, ...per] };
}

function CostChart({ model }: { model: RunModel }) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<{ plot: uPlot; agents: string } | undefined>(undefined);
  const { agents, data } = series(model);

  useEffect(() => {
    if (!el.current) return;
    const key = agents.join('\u0000');
    if (chart.current && chart.current.agents === key) {
      chart.current.plot.setData(data as uPlot.AlignedData);
      return;
    }
    chart.current?.plot.destroy();
    const plot = new uPlot(
      {
        width: Math.max(320, el.current.clientWidth || 600),
        height: 220,
        scales: { x: { time: false } },
        axes: [
          { label: 'seconds' },
          { label: 'cost ($)', size: 80, values: (_u, splits) => splits.map((v) => v.toFixed(5)) },
        ],
        series: [
          { label: 's' },
          { label: 'run', stroke: '#222', width: 2, value: (_u, v) => (v == null ? '' : dollars(v)) },
          ...agents.map((a, i) => ({
            label: a,
            stroke: COLORS[i % COLORS.length]!,
            value: (_u: uPlot, v: number | null) => (v == null ? '' : dollars(v)),
          })),
        ],
      },
      data as uPlot.AlignedData,
      el.current,
    );
    chart.current = { plot, agents: key };
  });

  useEffect(() => () => chart.current?.plot.destroy(), []);
  return (
    <div class="chart" data-testid="cost-chart" data-points={data[0]!.length}>
      {data[0]!.length === 0 && <p class="muted">No model spend yet.</p>}
      <div ref={el} />
    </div>
  );
}
