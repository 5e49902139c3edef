import type { AgentInfo } from '../../protocol/index.js';
import { dollars, type RunModel } from './model.js';

/** Each agent: its current state in its machine (drawn as a small statechart), activations and spend. */
export function Agents({ model, agents }: { model: RunModel; agents: AgentInfo[] }) {
  const ids = [...new Set([...agents.map((a) => a.id), ...model.agents.keys()])];
  return (
    <div class="agents" data-testid="agents">
      {ids.map((id) => {
        const info = agents.find((a) => a.id === id);
        const status = model.agents.get(id);
        const states = status ? [...status.states] : [];
        const current = new Set(states.map(([, s]) => s));
        return (
          <div class="agent-card" key={id} data-agent={id}>
            <div class="agent-head">
              <strong>{id}</strong>
              {info && (
                <span class="muted">
                  {info.lifecycle}
                  {info.lifecycle === 'pooled' ? ` ×${info.concurrency ?? 1}` : ''}
                  {info.remote ? ' · remote' : ''} · priority {info.priority}
                </span>
              )}
            </div>
            <div class="agent-body">
              {info && <Statechart machine={info.machine} current={current} />}
              <table class="kv">
                <tbody>
                  <tr>
                    <th>state</th>
                    <td data-testid="agent-state">
                      {states.length === 0
                        ? '—'
                        : states.map(([key, s]) => (key ? `${key}: ${s}` : s)).join(', ')}
                    </td>
                  </tr>
                  <tr>
                    <th>activations</th>
                    <td data-testid="agent-activations">
                      {status?.started ?? 0} started · {status?.completed ?? 0} done · {status?.failed ?? 0} failed ·{' '}
                      {status?.refused ?? 0} refused · {status?.running ?? 0} running
                    </td>
                  </tr>
                  <tr>
                    <th>spent</th>
                    <td data-testid="agent-spent">
                      {status?.spend.tokens ?? 0}
                      {info?.budget?.tokens !== undefined ? ` of ${info.budget.tokens}` : ''} tokens ·{' '}
                      {dollars(status?.spend.cost ?? 0)}
                      {info?.budget?.cost !== undefined ? ` of ${dollars(info.budget.cost)}` : ''} ·{' '}
                      {status?.spend.calls ?? 0} calls
                    </td>
                  </tr>
                  {info && (
                    <tr>
                      <th>watches / writes</th>
                      <td class="muted">
                        {info.watches.map((p) => p.join('.')).join(', ')} / {info.writes.map((p) => p.join('.')).join(', ')}
                      </td>
                    </tr>
                  )}
                </tbody>
              </table>
            </div>
          </div>
        );
      })}
    </div>
  );
}

interface StateNode {
  type?: string;
  on?: Record<string, unknown>;
  always?: unknown;
  invoke?: unknown;
  after?: Record<string, unknown>;
  onDone?: unknown;
}

/** The targets a transition config names (a string, `{ target }`, or a list of them). */
function targets(t: unknown): string[] {
  if (typeof t === 'string') return [t];
  if (Array.isArray(t)) return t.flatMap(targets);
  if (t && typeof t === 'object' && 'target' in t) return targets((t as { target: unknown }).target);
  return [];
}

/** `#machine.a.b`, `.b` or `b` → the top-level state it names, as far as a small drawing needs. */
const stateName = (target: string, names: string[]): string | undefined => {
  const parts = target.replace(/^#[^.]*\./, '').split('.').filter(Boolean);
  return parts.find((p) => names.includes(p));
};

/** The machine's top-level states on a circle, its transitions as arrows; current states are filled. */
export function Statechart({ machine, current }: { machine: unknown; current: Set<string> }) {
  const m = machine as { states?: Record<string, StateNode>; initial?: string };
  const states = m?.states ?? {};
  const names = Object.keys(states);
  if (names.length === 0) return null;
  const edges: { from: string; to: string; label: string }[] = [];
  for (const [from, node] of Object.entries(states)) {
    const add = (label: string, t: unknown) => {
      for (const target of targets(t)) {
        const to = stateName(target, names);
        if (to && !edges.some((e) => e.from === from && e.to === to)) edges.push({ from, to, label });
      }
    };
    for (const [event, t] of Object.entries(node.on ?? {})) add(event, t);
    add('always', node.always);
    for (const [delay, t] of Object.entries(node.after ?? {})) add(`after ${delay}`, t);
    for (const inv of Array.isArray(node.invoke) ? node.invoke : node.invoke ? [node.invoke] : []) {
      const i = inv as { onDone?: unknown; onError?: unknown };
      add('done', i.onDone);
      add('error', i.onError);
    }
    add('done', node.onDone);
  }
  const w = 300;
  const h = 170;
  const r = Math.min(w, h) / 2 - 28;
  const pos = new Map(
    names.map((n, i) => {
      const a = (2 * Math.PI * i) / names.length - Math.PI / 2;
      return [n, { x: w / 2 + r * Math.cos(a), y: h / 2 + r * Math.sin(a) }];
    }),
  );
  return (
    <svg class="statechart" width={w} height={h} viewBox={`0 0 ${w} ${h}`} data-testid="statechart">
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto">
          <path d="M0,0 L10,5 L0,10 z" fill="#8a94a6" />
        </marker>
      </defs>
      {edges.map((e) => {
        const a = pos.get(e.from)!;
        const b = pos.get(e.to)!;
        if (e.from === e.to) return null;
        const dx = b.x - a.x;
        const dy = b.y - a.y;
        const len = Math.hypot(dx, dy) || 1;
        const [ux, uy] = [dx / len, dy / len];
        return (
          <g key={`${e.from}-${e.to}`}>
            <line
              x1={a.x + ux * 22}
              y1={a.y + uy * 12}
              x2={b.x - ux * 22}
              y2={b.y - uy * 12}
              stroke="#8a94a6"
              marker-end="url(#arrow)"
            >
              <title>{`${e.from} → ${e.to} on ${e.label}`}</title>
            </line>
          </g>
        );
      })}
      {names.map((n) => {
        const p = pos.get(n)!;
        const final = states[n]?.type === 'final';
        return (
          <g key={n} class={`state${current.has(n) ? ' current' : ''}${final ? ' final' : ''}`} data-state={n}>
            <rect x={p.x - 40} y={p.y - 11} width={80} height={22} rx={final ? 11 : 4} />
            <text x={p.x} y={p.y + 4} text-anchor="middle">
              {n.length > 12 ? `${n.slice(0, 11)}…` : n}
            </text>
            {m.initial === n && <circle cx={p.x - 46} cy={p.y} r={3} fill="#8a94a6" />}
          </g>
        );
      })}
    </svg>
  );
}
