import { useMemo, useState } from 'preact/hooks';
import { type LogEntry, type RunModel } from './model.js';
import { VirtualList } from './virtual-list.js';

const TYPES = ['commit', 'message', 'activation', 'transition', 'span', 'stream', 'approval', 'outcome'];

/** The run's log, live, filterable by message type and agent; only rows in view are rendered. */
export function LogPanel({ model }: { model: RunModel }) {
  const [types, setTypes] = useState<Set<string>>(() => new Set(TYPES.filter((t) => t !== 'stream')));
  const [agent, setAgent] = useState('');
  const length = model.log.length;
  // Recomputed when the log grows or the filter changes, not on every render.
  const shown = useMemo(
    () => model.log.filter((e) => types.has(e.type) && (agent === '' || e.agent === agent)),
    [model, length, types, agent],
  );
  const agents = [...model.agents.keys()].sort();
  return (
    <div class="log" data-testid="log">
      <div class="filters">
        {TYPES.map((t) => (
          <label key={t}>
            <input
              type="checkbox"
              data-type={t}
              checked={types.has(t)}
              onChange={() => {
                const next = new Set(types);
                if (next.has(t)) next.delete(t);
                else next.add(t);
                setTypes(next);
              }}
            />
            {t} <span class="muted">{model.counts.get(t) ?? 0}</span>
          </label>
        ))}
        <select data-testid="log-agent" value={agent} onChange={(e) => setAgent((e.target as HTMLSelectElement).value)}>
          <option value="">all agents</option>
          {agents.map((a) => (
            <option key={a} value={a}>
              {a}
            </option>
          ))}
        </select>
        <span class="muted" data-testid="log-count">
          {shown.length} of {length + model.dropped}
        </span>
      </div>
      <VirtualList items={shown} rowHeight={22} height={440} row={logRow} testId="log-list" />
    </div>
  );
}

function logRow(e: LogEntry) {
  return (
    <div class={`entry ${e.level}`} data-type={e.type} title={e.summary}>
      <span class="seq">#{e.seq}</span>
      <span class={`type t-${e.type}`}>{e.type}</span>
      <span class="agent">{e.agent ?? ''}</span>
      <span class="summary">{e.summary}</span>
    </div>
  );
}
