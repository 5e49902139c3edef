import { type Path, pathKey } from '../../blackboard/path.js';
import { parentRunId, type RunInfo, type ServerMessage, type ServerMessageOf } from '../../protocol/index.js';
import { topicRecord } from '../../protocol/records.js';
import { TOPICS } from '../../protocol/topics.js';

export { pathKey };

/**
 * What the inspector knows of one run, built only from the protocol's messages (a snapshot, then the log
 * in order). It holds no DOM: the page renders it, and tests drive it in Node with the same messages.
 */

type Logged = Extract<ServerMessage, { runId: string; seq: number; time: number }>;
type Json = Record<string, unknown>;

/** One line of the log view. */
export interface LogEntry {
  readonly seq: number;
  readonly time: number;
  /** The message type, or for bus messages their topic's kind (`message`). */
  readonly type: string;
  readonly agent: string | undefined;
  readonly summary: string;
  readonly level: 'info' | 'warn' | 'error';
}

/** A bar of the span waterfall: an activation attempt, or a model or tool call inside one. */
export interface SpanBar {
  readonly id: string;
  readonly parentId: string | undefined;
  readonly kind: 'activation' | 'model' | 'tool';
  readonly name: string;
  readonly agentId: string;
  /** From the attempt's start record until its span arrives, then the span's own start. */
  start: number;
  /** Undefined while it is running. */
  end: number | undefined;
  status: 'running' | 'ok' | 'error' | 'aborted';
  readonly detail: Record<string, string | number | boolean>;
}

export interface Spend {
  tokens: number;
  inputTokens: number;
  outputTokens: number;
  cost: number;
  calls: number;
}

/** An agent (or one of a pooled agent's items) as the agents view shows it. */
export interface AgentStatus {
  /** Current state value per instance (`''` for the singleton, the item key for pooled instances). */
  readonly states: Map<string, string>;
  started: number;
  completed: number;
  failed: number;
  refused: number;
  running: number;
  readonly spend: Spend;
}

/** An approval request and what became of it. */
export interface ApprovalView {
  readonly requestId: string;
  readonly agentId: string;
  readonly action: string;
  readonly args: unknown;
  readonly summary: string | undefined;
  readonly time: number;
  status: 'pending' | 'approved' | 'rejected' | 'used';
  by: string | undefined;
}

/** The scheduler's latest agenda: its ranked candidates with why each is eligible. */
export interface AgendaView {
  readonly cycle: number;
  readonly version: number;
  /** Candidates waiting for a free slot beyond those listed. */
  readonly moreDeferred?: number;
  readonly items: readonly {
    readonly agentId: string;
    readonly key?: string;
    readonly rank: number;
    readonly priority: number;
    readonly estimate?: Json;
    readonly budgetLeft?: Json;
    readonly why: { readonly seq: number; readonly paths: readonly Path[] };
    readonly decision: string;
  }[];
}

const emptySpend = (): Spend => ({ tokens: 0, inputTokens: 0, outputTokens: 0, cost: 0, calls: 0 });
const _num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v));
const asJson = (v: unknown): Json => (typeof v === 'object' && v !== null ? (v as Json) : {});

/** The most log entries kept per run (the oldest are dropped beyond it; the count says how many there were). */
export const MAX_LOG = 200_000;

export class RunModel {
  board: unknown = undefined;
  version = 0;
  seq = 0;
  /** Whether a snapshot arrived (the board is known). */
  loaded = false;
  readonly log: LogEntry[] = [];
  /** Entries dropped from the front of `log` beyond {@link MAX_LOG}. */
  dropped = 0;
  /** Who last changed each path, and at which version (paths written by commits). */
  readonly changes = new Map<string, { author: string; version: number }>();
  /** The paths of the newest commit. */
  lastCommit: { author: string; version: number; paths: Path[] } | undefined;
  readonly agents = new Map<string, AgentStatus>();
  readonly spans = new Map<string, SpanBar>();
  /** The bar of each attempt still running, by its span id. */
  private readonly open = new Map<string, string>();
  readonly total: Spend = emptySpend();
  /** Cumulative tokens and cost after each charge: `[time, tokens, cost, agentId]`. */
  readonly usageSeries: [number, number, number, string][] = [];
  readonly approvals = new Map<string, ApprovalView>();
  agenda: AgendaView | undefined;
  /** Streamed model text per activation. */
  readonly streams = new Map<string, { agentId: string; text: string }>();
  outcome: { outcome: string; reason: string } | undefined;
  /** The run that started this one (a child run), from its `hearsay.parent` record. */
  parent: { runId: string; activationId: string; team: string } | undefined;
  /** Child runs this run's agents started, by run id. */
  readonly children = new Map<string, { team: string; agentId: string; status: string; reason?: string }>();
  /** The run's clock at its first and latest message. */
  firstTime: number | undefined;
  lastTime: number | undefined;
  /** Counts per message type (the log filter shows them). */
  readonly counts = new Map<string, number>();

  constructor(readonly runId: string) {}

  /** Applies one message of the run's stream. Messages at or before the current seq are ignored. */
  apply(m: ServerMessage): void {
    if (m.type === 'snapshot') {
      if (m.runId !== this.runId) return;
      this.board = m.state;
      this.version = m.version;
      this.seq = m.seq;
      this.loaded = true;
      return;
    }
    if (!('seq' in m) || !('runId' in m) || m.runId !== this.runId) return;
    const logged = m as Logged;
    if (logged.seq <= this.seq) return;
    this.seq = logged.seq;
    this.firstTime ??= logged.time;
    this.lastTime = logged.time;
    this.counts.set(logged.type, (this.counts.get(logged.type) ?? 0) + 1);
    // A run paused for an approval goes on once it is answered: it is live again.
    if (
      this.outcome?.outcome === 'awaiting_approval' &&
      ((logged.type === 'approval' && logged.phase === 'answered') ||
        (logged.type === 'activation' && logged.activation.phase === 'started'))
    )
      this.outcome = undefined;
    const entry = this.take(logged);
    if (entry) {
      this.log.push(entry);
      if (this.log.length > MAX_LOG) {
        const extra = this.log.length - MAX_LOG;
        this.log.splice(0, extra);
        this.dropped += extra;
      }
    }
  }

  private take(m: Logged): LogEntry | undefined {
    const at = { seq: m.seq, time: m.time };
    switch (m.type) {
      case 'commit': {
        this.board = applyPatches(this.board, m.patches);
        this.version = m.version;
        const paths = m.patches.map((p) => p.path);
        for (const p of paths) this.changes.set(pathKey(p), { author: m.author, version: m.version });
        this.lastCommit = { author: m.author, version: m.version, paths };
        return {
          ...at,
          type: 'commit',
          agent: m.author,
          summary: `v${m.version} ${m.patches.map((p) => `${p.op} ${p.path.join('.')}`).join(', ')}`,
          level: 'info',
        };
      }
      case 'activation':
        return { ...at, ...this.activation(m), type: 'activation', agent: m.activation.agentId };
      case 'transition': {
        this.agent(m.agentId).states.set(m.key ?? '', m.to);
        return {
          ...at,
          type: 'transition',
          agent: m.agentId,
          summary: `${m.key ? `[${m.key}] ` : ''}${m.from} → ${m.to} on ${m.event}`,
          level: 'info',
        };
      }
      case 'span': {
        const agentId = str(m.attributes.agentId);
        const id = this.open.get(m.spanId) ?? m.spanId;
        this.open.delete(m.spanId);
        const bar = this.spans.get(id);
        if (bar) {
          bar.start = m.start;
          bar.end = m.end;
          bar.status = m.status;
          Object.assign(bar.detail, m.attributes);
        } else {
          this.spans.set(id, {
            id,
            parentId: m.parentSpanId,
            kind: 'activation',
            name: m.name,
            agentId,
            start: m.start,
            end: m.end,
            status: m.status,
            detail: { ...m.attributes },
          });
        }
        return {
          ...at,
          type: 'span',
          agent: agentId,
          summary: `${m.name} ${m.status} in ${Math.round(m.end - m.start)} ms`,
          level: m.status === 'error' ? 'error' : 'info',
        };
      }
      case 'stream': {
        const s = this.streams.get(m.activationId) ?? { agentId: m.agentId ?? '', text: '' };
        s.text += m.delta;
        this.streams.set(m.activationId, s);
        return { ...at, type: 'stream', agent: m.agentId, summary: m.delta, level: 'info' };
      }
      case 'approval':
        return { ...at, ...this.approval(m), type: 'approval' };
      case 'outcome':
        this.outcome = { outcome: m.outcome, reason: m.reason };
        return {
          ...at,
          type: 'outcome',
          agent: undefined,
          summary: `${m.outcome}: ${m.reason}`,
          level: m.outcome === 'completed' || m.outcome === 'quiescent' ? 'info' : 'warn',
        };
      case 'message':
        return { ...at, ...this.message(m), type: 'message' };
      default:
        return undefined;
    }
  }

  private agent(id: string): AgentStatus {
    let a = this.agents.get(id);
    if (!a) {
      a = {
        states: new Map(),
        started: 0,
        completed: 0,
        failed: 0,
        refused: 0,
        running: 0,
        spend: emptySpend(),
      };
      this.agents.set(id, a);
    }
    return a;
  }

  private activation(m: ServerMessageOf<'activation'>): Pick<LogEntry, 'summary' | 'level'> {
    const a = m.activation;
    const agent = this.agent(a.agentId);
    const key = 'key' in a && a.key !== undefined ? `[${a.key}] ` : '';
    switch (a.phase) {
      case 'started': {
        agent.started += 1;
        agent.running += 1;
        const spanId = a.attempt === 1 ? a.activationId : `${a.activationId}#${a.attempt}`;
        // An activation run again under its id (a resumed run) gets a bar of its own.
        const id = this.spans.has(spanId) ? `${spanId}@${m.seq}` : spanId;
        this.open.set(spanId, id);
        this.spans.set(id, {
          id,
          parentId: a.enabledBy.activationId,
          kind: 'activation',
          name: `agent.${a.agentId}`,
          agentId: a.agentId,
          start: m.time,
          end: undefined,
          status: 'running',
          detail: { activationId: a.activationId, depth: a.depth, attempt: a.attempt },
        });
        const more = a.enabledBy.morePaths ? ` +${a.enabledBy.morePaths} more` : '';
        const paths = a.enabledBy.paths.map((p) => p.join('.')).join(', ') + more;
        return {
          summary: `${key}started ${a.activationId} (depth ${a.depth}, attempt ${a.attempt}) by v${a.enabledBy.version}${paths ? ` [${paths}]` : ''}${a.delegatedBy ? ` delegated by ${a.delegatedBy}` : ''}`,
          level: 'info',
        };
      }
      case 'completed':
        agent.completed += 1;
        agent.running = Math.max(0, agent.running - 1);
        return { summary: `${key}completed ${a.activationId}`, level: 'info' };
      case 'failed':
        agent.failed += 1;
        agent.running = Math.max(0, agent.running - 1);
        return {
          summary: `${key}failed (attempt ${a.attempt}, next: ${a.next}): ${a.error}`,
          level: 'error',
        };
      case 'aborted':
        agent.running = Math.max(0, agent.running - 1);
        return { summary: `aborted ${a.activationId}: ${a.reason}`, level: 'warn' };
      case 'refused':
        agent.refused += 1;
        return { summary: `${key}refused (${a.reason}): ${a.detail}`, level: 'warn' };
    }
  }

  private approval(m: ServerMessageOf<'approval'>): Pick<LogEntry, 'summary' | 'level' | 'agent'> {
    const r = asJson(m.record);
    const { requestId } = m;
    if (m.phase === 'requested') {
      this.approvals.set(requestId, {
        requestId,
        agentId: str(r.agentId),
        action: str(r.action),
        args: r.args,
        summary: typeof r.summary === 'string' ? r.summary : undefined,
        time: m.time,
        status: 'pending',
        by: undefined,
      });
      return {
        agent: str(r.agentId),
        summary: `${str(r.agentId)} asks to ${str(r.action)}${typeof r.summary === 'string' ? `: ${r.summary}` : ''}`,
        level: 'warn',
      };
    }
    const known = this.approvals.get(requestId);
    if (m.phase === 'answered' && known) {
      const d = asJson(r.decision);
      known.status = d.approved === true ? 'approved' : 'rejected';
      known.by = str(d.by);
    }
    if (m.phase === 'used' && known) known.status = known.status === 'approved' ? 'used' : known.status;
    return { agent: known?.agentId, summary: `${m.phase} ${requestId}`, level: 'info' };
  }

  private message(m: ServerMessageOf<'message'>): Pick<LogEntry, 'summary' | 'level' | 'agent'> {
    // A runtime record is read through its topic's schema; anything else (an agent's own message, or a
    // record this page cannot read) is shown as it is.
    const r = topicRecord(m.topic, m.payload);
    switch (r?.topic) {
      case TOPICS.usage: {
        const { agentId, usage } = r.payload;
        const input = usage.inputTokens ?? 0;
        const output = usage.outputTokens ?? 0;
        const tokens = usage.tokens || input + output;
        const cost = usage.cost ?? 0;
        for (const spend of [this.total, this.agent(agentId).spend]) {
          spend.tokens += tokens;
          spend.inputTokens += input;
          spend.outputTokens += output;
          spend.cost += cost;
        }
        this.usageSeries.push([m.time, this.total.tokens, this.total.cost, agentId]);
        return { agent: agentId, summary: `charged ${tokens} tokens, $${cost.toFixed(4)}`, level: 'info' };
      }
      case TOPICS.model: {
        const p = r.payload;
        if (p.type !== 'call') return { agent: p.agentId, summary: `model ${p.type}`, level: 'info' };
        this.total.calls += 1;
        this.agent(p.agentId).spend.calls += 1;
        const latency = p.latencyMs ?? 0;
        const id = `${p.activationId}/model/${m.seq}`;
        this.spans.set(id, {
          id,
          parentId: p.activationId || undefined,
          kind: 'model',
          name: `model ${p.model || '?'}`,
          agentId: p.agentId,
          start: p.startedAt,
          end: p.startedAt + latency,
          status: p.ok ? 'ok' : 'error',
          detail: {
            model: p.model ?? '',
            latencyMs: latency,
            inputTokens: p.usage.inputTokens ?? 0,
            outputTokens: p.usage.outputTokens ?? 0,
            cost: p.cost,
            ...(p.cached === true ? { cached: true } : {}),
            ...(p.ok ? {} : { error: p.error ?? '' }),
          },
        });
        return {
          agent: p.agentId,
          summary: `model ${p.model ?? ''} ${p.ok ? 'ok' : `failed (${p.error ?? ''})`} in ${latency} ms`,
          level: p.ok ? 'info' : 'error',
        };
      }
      case TOPICS.tool: {
        const p = r.payload;
        const id = `${p.activationId}/tool/${m.seq}`;
        this.spans.set(id, {
          id,
          parentId: p.activationId || undefined,
          kind: 'tool',
          name: `tool ${p.name}`,
          agentId: p.agentId,
          start: p.startedAt,
          end: p.startedAt + p.latencyMs,
          status: p.ok ? 'ok' : 'error',
          detail: { latencyMs: p.latencyMs, ...(p.ok ? {} : { error: p.code ?? '' }) },
        });
        return { agent: p.agentId, summary: `tool ${p.name} ${p.ok ? 'ok' : 'failed'}`, level: 'info' };
      }
      case TOPICS.agenda:
        this.agenda = r.payload as AgendaView;
        return {
          agent: undefined,
          summary: `agenda #${r.payload.cycle}: ${r.payload.items.map((i) => `${i.agentId}${i.key ? `[${i.key}]` : ''}=${i.decision}`).join(', ')}`,
          level: 'info',
        };
      case TOPICS.parent: {
        const { runId, activationId, team } = r.payload;
        this.parent = { runId, activationId, team };
        return { agent: undefined, summary: `child run of ${runId} (team ${team})`, level: 'info' };
      }
      case TOPICS.child: {
        const p = r.payload;
        const status = p.phase === 'started' ? 'running' : (p.outcome ?? p.phase);
        this.children.set(p.childRunId, {
          team: p.team,
          agentId: p.agentId,
          status,
          ...(p.reason === undefined ? {} : { reason: p.reason }),
        });
        return {
          agent: p.agentId,
          summary: `child run ${p.childRunId} (${p.team}) ${p.phase === 'started' ? 'started' : `${p.phase}: ${status}${p.reason === undefined ? '' : ` — ${p.reason}`}`}`,
          level: p.phase === 'started' || status === 'completed' ? 'info' : 'warn',
        };
      }
      case TOPICS.breaker:
        return {
          agent: r.payload.agentId,
          summary: `budget spent: breaker open for ${r.payload.agentId}`,
          level: 'warn',
        };
      case TOPICS.warning: {
        const w = r.payload;
        const summary =
          w.kind === 'shared_writes'
            ? `paths several agents write: ${w.groups.map((g) => `${g.path.join('.') || '<root>'} (${g.agents.join(', ')})`).join('; ')}`
            : w.kind === 'pool_idle'
              ? w.message
              : `${w.agentId} failed between activations: ${w.error}`;
        return { agent: 'agentId' in w ? w.agentId : undefined, summary, level: 'warn' };
      }
      case TOPICS.delegation: {
        const d = r.payload;
        return {
          agent: d.from,
          summary: `delegation ${d.from} → ${d.to} ${d.accepted ? 'accepted' : `refused${d.reason ? `: ${d.reason}` : ''}`}`,
          level: 'info',
        };
      }
      default:
        return {
          agent: m.author,
          summary: `${m.topic} ${truncate(JSON.stringify(m.payload))}`,
          level: 'info',
        };
    }
  }

  /** The waterfall's bars in display order: each bar after its parent, children by start time. */
  waterfall(): { bar: SpanBar; depth: number }[] {
    const children = new Map<string | undefined, SpanBar[]>();
    // Activation ids name attempt 1's span; a model call's parent is its activation id.
    for (const bar of this.spans.values()) {
      const parent = bar.parentId !== undefined && this.spans.has(bar.parentId) ? bar.parentId : undefined;
      const list = children.get(parent) ?? [];
      list.push(bar);
      children.set(parent, list);
    }
    const out: { bar: SpanBar; depth: number }[] = [];
    const seen = new Set<string>();
    const visit = (parent: string | undefined, depth: number) => {
      const list = (children.get(parent) ?? []).sort((a, b) => a.start - b.start);
      for (const bar of list) {
        if (seen.has(bar.id)) continue;
        seen.add(bar.id);
        out.push({ bar, depth });
        visit(bar.id, depth + 1);
      }
    };
    visit(undefined, 0);
    return out;
  }

  /** Approvals still waiting for an operator. */
  pendingApprovals(): ApprovalView[] {
    return [...this.approvals.values()].filter((a) => a.status === 'pending');
  }
}

const truncate = (s: string | undefined, n = 160) =>
  s === undefined ? '' : s.length > n ? `${s.slice(0, n)}…` : s;

/**
 * Applies patches (`add`, `replace`, `remove` at a path) to `state` in place and returns the new root (a
 * patch at the empty path replaces it). In place, so a commit costs its change, not the board's size: the
 * model owns the board it was given (a snapshot parsed from a frame) and nothing else holds it.
 */
export function applyPatches(
  state: unknown,
  patches: readonly { op: string; path: Path; value?: unknown }[],
): unknown {
  let root = state;
  for (const p of patches) {
    if (p.path.length === 0) {
      root = p.op === 'remove' ? undefined : p.value;
      continue;
    }
    let node = root as Json | unknown[];
    for (const seg of p.path.slice(0, -1)) {
      const next = (node as Json)[String(seg)];
      if (typeof next !== 'object' || next === null) {
        // A path through a missing node: make it (the hub only sends patches the board accepted).
        const made: Json = {};
        (node as Json)[String(seg)] = made;
        node = made;
      } else node = next as Json;
    }
    const last = p.path[p.path.length - 1]!;
    if (Array.isArray(node)) {
      const index = last === '-' ? node.length : Number(last);
      if (p.op === 'remove') node.splice(index, 1);
      else if (p.op === 'add') node.splice(index, 0, p.value);
      else node[index] = p.value;
    } else if (p.op === 'remove') delete node[String(last)];
    else node[String(last)] = p.value;
  }
  return root;
}

/** How long ago, briefly: `4s`, `3m`, `2h`, `5d`. */
export function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** A cost in dollars, with enough digits for fractions of a cent. */
export const dollars = (cost: number): string =>
  `$${cost < 0.01 && cost > 0 ? cost.toFixed(5) : cost.toFixed(4)}`;

/**
 * Sorts runs for the list: running first, then newest first; a child run (its id starts with its parent's
 * and a `/`) comes right after its parent.
 */
export function sortRuns(runs: readonly RunInfo[]): RunInfo[] {
  const ids = new Set(runs.map((r) => r.runId));
  // A child whose parent is not listed is shown as a top-level run.
  const parentOf = (id: string): string | undefined => {
    const parent = parentRunId(id);
    return parent !== undefined && ids.has(parent) ? parent : undefined;
  };
  const order = (a: RunInfo, b: RunInfo) =>
    (a.status === 'running' ? 0 : 1) - (b.status === 'running' ? 0 : 1) ||
    (b.startedAt ?? 0) - (a.startedAt ?? 0) ||
    a.runId.localeCompare(b.runId);
  const kids = new Map<string | undefined, RunInfo[]>();
  for (const r of runs) {
    const p = parentOf(r.runId);
    kids.set(p, [...(kids.get(p) ?? []), r]);
  }
  const out: RunInfo[] = [];
  const visit = (parent: string | undefined) => {
    for (const r of (kids.get(parent) ?? []).sort(order)) {
      out.push(r);
      visit(r.runId);
    }
  };
  visit(undefined);
  return out;
}
