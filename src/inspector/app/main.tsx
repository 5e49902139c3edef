import { render } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { connect, type HearsayClient, HubError, type RunStream } from '../../client/client.js';
import { type AgentInfo, childRunDepth, type RunInfo } from '../../protocol/index.js';
import { Agenda, Approvals, Output } from './actions.js';
import { Agents } from './agents.js';
import { Board } from './board.js';
import { CostPanel } from './cost.js';
import { LogPanel } from './log.js';
import { age, dollars, RunModel, sortRuns } from './model.js';
import { Timeline } from './timeline.js';

/** Where the page finds its hub: `?hub=ws://…`, else the hub path on the server that served the page. */
function hubUrl(): string {
  const given =
    new URLSearchParams(location.search).get('hub') ??
    document.querySelector('meta[name="hearsay-hub-url"]')?.getAttribute('content');
  if (given) return given;
  const path = document.querySelector('meta[name="hearsay-hub"]')?.getAttribute('content') ?? '/hearsay';
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
}

/** A token from the address's fragment (`#token=…`, never sent to a server) or this tab's storage. */
function initialToken(): string | undefined {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) {
    sessionStorage.setItem('hearsay.token', fromHash);
    history.replaceState(null, '', location.pathname + location.search);
    return fromHash;
  }
  return sessionStorage.getItem('hearsay.token') ?? undefined;
}

type Connection =
  | { status: 'connecting' }
  | { status: 'connected'; client: HearsayClient }
  | { status: 'refused'; message: string }
  | { status: 'error'; message: string };

const TABS = ['log', 'agents', 'timeline', 'cost', 'agenda', 'approvals', 'output'] as const;
type Tab = (typeof TABS)[number];

/** Re-renders at most once per animation frame however many messages arrive (batched rendering). */
function useFrameTick(): [number, () => void] {
  const [tick, setTick] = useState(0);
  const pending = useRef(false);
  const schedule = () => {
    if (pending.current) return;
    pending.current = true;
    requestAnimationFrame(() => {
      pending.current = false;
      setTick((t) => t + 1);
    });
  };
  return [tick, schedule];
}

function App() {
  const url = useMemo(hubUrl, []);
  const [token, setToken] = useState(initialToken);
  const [conn, setConn] = useState<Connection>({ status: 'connecting' });
  const [runs, setRuns] = useState<RunInfo[]>([]);
  const [agents, setAgents] = useState<AgentInfo[]>([]);
  const [selected, setSelected] = useState<string | undefined>(
    new URLSearchParams(location.search).get('run') ?? undefined,
  );
  const [tab, setTab] = useState<Tab>('log');
  const [model, setModel] = useState<RunModel | undefined>();
  const [, schedule] = useFrameTick();

  // Connects (again whenever the token changes).
  useEffect(() => {
    let client: HearsayClient | undefined;
    let stopped = false;
    setConn({ status: 'connecting' });
    connect(url, { ...(token ? { token } : {}), name: 'hearsay-inspector' })
      .then((c) => {
        if (stopped) return c.close();
        client = c;
        setConn({ status: 'connected', client: c });
        setRuns(sortRuns(c.welcome.runs));
        c.agents().then(setAgents, () => setAgents([]));
      })
      .catch((error: unknown) =>
        setConn(
          // A browser hides the status of a refused upgrade: a refused token looks unreachable.
          error instanceof HubError && (error.code === 'unauthorized' || error.code === 'unreachable')
            ? { status: 'refused', message: error.message }
            : { status: 'error', message: String(error) },
        ),
      );
    return () => {
      stopped = true;
      client?.close();
    };
  }, [url, token]);

  const client = conn.status === 'connected' ? conn.client : undefined;

  // The runs list: polled, so new runs, ages, tokens and costs stay current.
  useEffect(() => {
    if (!client) return;
    let live = true;
    const poll = () =>
      client.runs().then(
        (r) => live && setRuns(sortRuns(r)),
        () => {},
      );
    const timer = setInterval(poll, 1000);
    void poll();
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [client]);

  // Picks the newest run when none is chosen.
  useEffect(() => {
    if (selected === undefined && runs[0]) setSelected(runs[0].runId);
  }, [runs, selected]);

  // Follows the chosen run into a fresh model.
  useEffect(() => {
    if (!client || selected === undefined) return;
    const runId = selected;
    const m = new RunModel(runId);
    setModel(m);
    let stream: RunStream | undefined;
    let stopped = false;
    const drain = async (s: RunStream) => {
      for await (const message of s) {
        m.apply(message);
        schedule();
      }
    };
    // The whole run from its beginning: the board at version 0, then every message of its log. Where
    // the beginning was compacted away, the run is followed from a snapshot instead.
    client.boardAt(runId, 0).then(
      (state) => {
        if (stopped) return;
        m.apply({ v: 1, type: 'snapshot', runId, seq: 0, version: 0, state });
        stream = client.follow([runId], undefined, { after: { [runId]: 0 } });
        void drain(stream);
      },
      () => {
        if (stopped) return;
        stream = client.follow([runId]);
        void drain(stream);
      },
    );
    return () => {
      stopped = true;
      stream?.close();
    };
  }, [client, selected]);

  if (conn.status === 'refused' || (conn.status === 'error' && !client))
    return <TokenForm message={conn.message} url={url} onToken={setToken} />;

  const roles = client?.welcome.roles ?? [];
  const operator = roles.includes('operator');
  const pending = model?.pendingApprovals().length ?? 0;
  return (
    <div class="app">
      <header>
        <strong>Hearsay inspector</strong>
        <span class="muted">{url}</span>
        <span data-testid="connection" class={`status ${conn.status}`}>
          {conn.status}
        </span>
        <span class="muted">roles: {roles.join(', ') || '—'}</span>
        {pending > 0 && (
          <button type="button" class="badge warn" onClick={() => setTab('approvals')}>
            {pending} approval{pending > 1 ? 's' : ''} pending
          </button>
        )}
      </header>
      <aside>
        <RunList runs={runs} selected={selected} onSelect={setSelected} model={model} />
      </aside>
      <main>
        {model && client ? (
          <>
            <RunHeader model={model} onSelect={setSelected} />
            <div class="split">
              <section class="board-pane">
                <Board model={model} client={client} />
              </section>
              <section class="tabs-pane">
                <nav>
                  {TABS.map((t) => (
                    <button
                      type="button"
                      key={t}
                      data-tab={t}
                      class={t === tab ? 'active' : ''}
                      onClick={() => setTab(t)}
                    >
                      {t}
                      {t === 'approvals' && pending > 0 ? ` (${pending})` : ''}
                    </button>
                  ))}
                </nav>
                <div class="tab-body">
                  {tab === 'log' && <LogPanel model={model} />}
                  {tab === 'agents' && <Agents model={model} agents={agents} />}
                  {tab === 'timeline' && <Timeline model={model} />}
                  {tab === 'cost' && <CostPanel model={model} />}
                  {tab === 'agenda' && <Agenda model={model} client={client} operator={operator} agents={agents} />}
                  {tab === 'approvals' && <Approvals model={model} client={client} operator={operator} />}
                  {tab === 'output' && <Output model={model} />}
                </div>
              </section>
            </div>
          </>
        ) : (
          <p class="empty">{conn.status === 'connected' ? 'No runs yet: start one.' : 'Connecting…'}</p>
        )}
      </main>
    </div>
  );
}

function RunHeader({ model, onSelect }: { model: RunModel; onSelect: (runId: string) => void }) {
  const children = [...model.children];
  return (
    <div class="run-header" data-testid="run-header">
      {model.parent && (
        <button type="button" class="link" data-testid="parent-run" onClick={() => onSelect(model.parent!.runId)}>
          ↑ {model.parent.runId}
        </button>
      )}
      <strong data-testid="run-id">{model.runId}</strong>
      <span>v{model.version}</span>
      <span>seq {model.seq}</span>
      <span data-testid="run-outcome" class={model.outcome ? `outcome ${model.outcome.outcome}` : 'outcome running'}>
        {model.outcome ? `${model.outcome.outcome}: ${model.outcome.reason}` : 'running'}
      </span>
      <span data-testid="run-cost">
        {model.total.tokens} tokens · {dollars(model.total.cost)}
      </span>
      {children.length > 0 && (
        <span class="children" data-testid="child-runs">
          children:{' '}
          {children.map(([id, c]) => (
            <button type="button" class="link" key={id} data-child={id} onClick={() => onSelect(id)} title={c.reason ?? ''}>
              {c.team} · {c.status}
            </button>
          ))}
        </span>
      )}
    </div>
  );
}

function RunList(props: {
  runs: RunInfo[];
  selected: string | undefined;
  onSelect: (id: string) => void;
  model: RunModel | undefined;
}) {
  const now = Date.now();
  return (
    <table class="runs" data-testid="runs">
      <thead>
        <tr>
          <th>run</th>
          <th>status</th>
          <th>age</th>
          <th>tokens</th>
          <th>cost</th>
        </tr>
      </thead>
      <tbody>
        {props.runs.map((r) => {
          // The followed run's totals are live; the others come from the hub's list.
          const followed = props.model?.runId === r.runId && props.model.loaded ? props.model : undefined;
          const live = followed && r.status === 'running' ? followed.total : undefined;
          // The followed run's status is as fresh as its stream (a paused run that resumed is running).
          const status = followed ? (followed.outcome?.outcome ?? 'running') : r.status === 'running' ? 'running' : r.outcome;
          return (
            <tr
              key={r.runId}
              data-run={r.runId}
              class={r.runId === props.selected ? 'selected' : ''}
              onClick={() => props.onSelect(r.runId)}
            >
              <td title={r.runId} style={{ paddingLeft: `${6 + 12 * childRunDepth(r.runId)}px` }}>
                {childRunDepth(r.runId) > 0 ? '↳ ' : ''}
                {r.runId.slice(r.runId.lastIndexOf('/') + 1)}
              </td>
              <td class={`status ${status ?? ''}`}>{status}</td>
              <td>{r.startedAt !== undefined ? age(now - r.startedAt) : '—'}</td>
              <td>{live?.tokens ?? r.tokens ?? 0}</td>
              <td>{dollars(live?.cost ?? r.cost ?? 0)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function TokenForm(props: { message: string; url: string; onToken: (t: string) => void }) {
  const [value, setValue] = useState('');
  return (
    <form
      class="token-form"
      onSubmit={(e) => {
        e.preventDefault();
        sessionStorage.setItem('hearsay.token', value);
        props.onToken(value);
      }}
    >
      <h1>Hearsay inspector</h1>
      <p>{props.message}</p>
      <p class="muted">
        The hub at {props.url} needs a token with the <code>inspect</code> (or <code>operator</code>) role.
      </p>
      <input
        type="password"
        placeholder="token"
        value={value}
        onInput={(e) => setValue((e.target as HTMLInputElement).value)}
      />
      <button type="submit">Connect</button>
    </form>
  );
}

render(<App />, document.getElementById('app')!);
