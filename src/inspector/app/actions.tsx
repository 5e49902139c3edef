import { useState } from 'preact/hooks';
import type { HearsayClient } from '../../client/client.js';
import type { AgentInfo } from '../../protocol/index.js';
import { type RunModel } from './model.js';

/** Runs an operator's action, showing its error (a refusal from the hub) beside the button. */
function useAction(): [string | undefined, (f: () => Promise<unknown>) => void] {
  const [error, setError] = useState<string | undefined>();
  return [
    error,
    (f) => {
      setError(undefined);
      f().catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
    },
  ];
}

/** The scheduler's ranked candidates with why each is eligible; an operator vetoes or promotes one. */
export function Agenda(props: { model: RunModel; client: HearsayClient; operator: boolean; agents: AgentInfo[] }) {
  const { model, client, operator } = props;
  const [error, act] = useAction();
  const [done, setDone] = useState<string[]>([]);
  const agenda = model.agenda;
  const agentIds = [...new Set([...props.agents.map((a) => a.id), ...model.agents.keys()])].sort();
  const action = (kind: 'veto' | 'promote', agentId: string, key?: string) =>
    act(async () => {
      await client.agenda(model.runId, kind, agentId, key);
      setDone([...done, `${kind} ${agentId}${key ? `[${key}]` : ''}`]);
    });
  const buttons = (agentId: string, key?: string) =>
    operator && !model.outcome ? (
      <>
        <button type="button" data-action="promote" onClick={() => action('promote', agentId, key)}>
          promote
        </button>
        <button type="button" data-action="veto" onClick={() => action('veto', agentId, key)}>
          veto
        </button>
      </>
    ) : null;
  return (
    <div class="agenda" data-testid="agenda">
      {!operator && <p class="muted">Vetoes and promotions need the operator role.</p>}
      {error && <p class="error">{error}</p>}
      {agenda ? (
        <>
          <p class="muted">
            Cycle {agenda.cycle} at v{agenda.version}: candidates in rank order
          </p>
          <table class="grid">
            <thead>
              <tr>
                <th>#</th>
                <th>agent</th>
                <th>priority</th>
                <th>why eligible</th>
                <th>estimate</th>
                <th>budget left</th>
                <th>decision</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {agenda.items.map((i) => (
                <tr key={`${i.agentId}/${i.key ?? ''}`} data-agent={i.agentId}>
                  <td>{i.rank + 1}</td>
                  <td>
                    {i.agentId}
                    {i.key ? `[${i.key}]` : ''}
                  </td>
                  <td>{i.priority}</td>
                  <td>
                    commit #{i.why.seq} wrote {i.why.paths.map((p) => p.join('.')).join(', ') || '(start)'}
                  </td>
                  <td>{i.estimate ? JSON.stringify(i.estimate) : '—'}</td>
                  <td>{i.budgetLeft ? JSON.stringify(i.budgetLeft) : '—'}</td>
                  <td class={i.decision === 'activate' ? 'ok' : 'warn'}>{i.decision}</td>
                  <td>{buttons(i.agentId, i.key)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {agenda.moreDeferred ? (
            <p class="muted">…and {agenda.moreDeferred} more waiting for a free slot (concurrency).</p>
          ) : null}
        </>
      ) : (
        <p class="muted">No scheduling cycle yet.</p>
      )}
      {operator && !model.outcome && agentIds.length > 0 && (
        <div class="pending-ops">
          <p class="muted">Any agent, from now on:</p>
          {agentIds.map((a) => (
            <span key={a} class="op" data-agent={a}>
              {a} {buttons(a)}
            </span>
          ))}
        </div>
      )}
      {done.length > 0 && <p class="muted">Done: {done.join('; ')}</p>}
    </div>
  );
}

/** Pending irreversible actions with approve / reject (operator role), then those answered. */
export function Approvals(props: { model: RunModel; client: HearsayClient; operator: boolean }) {
  const { model, client, operator } = props;
  const [error, act] = useAction();
  const [reason, setReason] = useState('');
  const all = [...model.approvals.values()].reverse();
  return (
    <div class="approvals" data-testid="approvals">
      {!operator && <p class="muted">Answering approvals needs the operator role.</p>}
      {error && <p class="error">{error}</p>}
      {all.length === 0 && <p class="muted">No approval requests in this run.</p>}
      {all.map((a) => (
        <div class={`approval ${a.status}`} key={a.requestId} data-request={a.requestId} data-status={a.status}>
          <div>
            <strong>{a.agentId}</strong> asks to <code>{a.action}</code>
            {a.summary ? `: ${a.summary}` : ''} <span class="muted">({a.status}{a.by ? ` by ${a.by}` : ''})</span>
          </div>
          <pre>{JSON.stringify(a.args, null, 2)}</pre>
          {a.status === 'pending' && operator && (
            <div class="approval-actions">
              <button
                type="button"
                data-action="approve"
                onClick={() => act(() => client.approve(a.requestId, 'approved from the inspector'))}
              >
                Approve
              </button>
              <input
                placeholder="reason to reject"
                value={reason}
                onInput={(e) => setReason((e.target as HTMLInputElement).value)}
              />
              <button
                type="button"
                data-action="reject"
                onClick={() => act(() => client.reject(a.requestId, reason || 'rejected from the inspector'))}
              >
                Reject
              </button>
            </div>
          )}
        </div>
      ))}
    </div>
  );
}

/** Streamed model output per activation, as it arrives. */
export function Output({ model }: { model: RunModel }) {
  const streams = [...model.streams.entries()].slice(-20).reverse();
  return (
    <div class="output" data-testid="output">
      {streams.length === 0 && <p class="muted">No streamed model output in this run.</p>}
      {streams.map(([activationId, s]) => (
        <div class="stream" key={activationId} data-activation={activationId}>
          <div class="muted">
            {s.agentId} · {activationId}
          </div>
          <pre>{s.text}</pre>
        </div>
      ))}
    </div>
  );
}
