import { type AgentDefinition, forbiddenCommit } from '../actors/index.js';
import type { Blackboard, Store } from '../blackboard/index.js';
import type { HubBoard, HubCommitResult, HubSource, OperatorAnswer } from '../hub/index.js';
import type { AgentInfo, PendingApprovalInfo, RunInfo } from '../protocol/index.js';
import { TOPICS } from '../scheduler/index.js';
import type { RemoteAgents } from './remote-agents.js';

/** What the runtime hands {@link runtimeHubSource}: its runs, store and answers, never itself. */
export interface HubSourceDeps {
  readonly server: string;
  readonly agents: readonly Pick<
    AgentDefinition,
    'id' | 'writes' | 'watches' | 'machine' | 'priority' | 'concurrency' | 'kind' | 'budget'
  >[];
  /** Agents whose machines run in other processes. */
  readonly remoteIds: ReadonlySet<string>;
  /** What a live run's agents were charged so far. */
  readonly usageOf: (runId: string) => { readonly tokens: number; readonly cost: number } | undefined;
  readonly store: Store;
  readonly live: ReadonlyMap<
    string,
    {
      readonly board: Blackboard<unknown>;
      veto(a: string, k?: string): void;
      promote(a: string, k?: string): void;
    }
  >;
  readonly openBoard: (runId: string) => Promise<Blackboard<unknown>>;
  readonly onRunStarted: (listener: (runId: string) => void) => () => void;
  /** Calls `listener` when a run is deleted from the store. Returns a function that stops it. */
  readonly onRunDeleted?: (listener: (runId: string) => void) => () => void;
  readonly answer: (requestId: string, answer: OperatorAnswer) => Promise<string>;
  readonly remote: RemoteAgents;
  /** The run an approval request belongs to. */
  readonly runOf: (requestId: string) => string | undefined;
  /** The approval requests waiting for an answer (the runtime's `pendingApprovals`). */
  readonly pendingApprovals: (runId?: string) => Promise<PendingApprovalInfo[]>;
  /** Which of the store's runs are this runtime's (a store shared with child teams holds theirs too). */
  readonly owns?: (runId: string) => boolean;
}

/** How many events from the end of an ended run's log are read to find its outcome. */
/** How many boards of runs not live here a hub source keeps following at once. */
const MAX_FOLLOWED = 64;
const OUTCOME_WINDOW = 500;
/** Ended runs whose info is kept. */
const MAX_INFOS = 1000;

/** The runtime as the hub sees it: runs (live or in the store), writes by agents, approvals, remote agents. */
export function runtimeHubSource(deps: HubSourceDeps): HubSource & {
  /** How many entries it caches about runs (infos, start times, followed boards). */
  cached(): number;
} {
  const byId = new Map(deps.agents.map((a) => [a.id, a]));
  /** Ended runs' infos, valid while their log does not grow (an answer to a paused run appends to it). */
  const infos = new Map<string, RunInfo>();
  /** When each run's log began (its first event; unknown once compaction dropped it). */
  const starts = new Map<string, number | undefined>();

  async function startedAt(runId: string): Promise<{ startedAt?: number }> {
    if (!starts.has(runId)) {
      starts.set(runId, (await deps.store.read(runId, 1, 1))[0]?.time);
      if (starts.size > MAX_INFOS) starts.delete(starts.keys().next().value!);
    }
    const at = starts.get(runId);
    return at === undefined ? {} : { startedAt: at };
  }

  const owns = deps.owns ?? (() => true);
  const holds = async (runId: string) =>
    owns(runId) && ((await deps.store.listRuns?.())?.includes(runId) ?? false);

  /**
   * What a run that is not live here came to, from the end of its log. Cached while the log does not grow;
   * the store's head decides, so listing runs (the inspector polls it) never rebuilds a board.
   */
  async function endedInfo(runId: string): Promise<RunInfo> {
    const known = infos.get(runId);
    // A final outcome does not change: no need to ask the store again.
    if (known && known.outcome !== 'awaiting_approval' && known.outcome !== 'interrupted') return known;
    // The run is held (it was listed): opening it finds it, and creates nothing.
    const { head } = await deps.store.openRun(runId, null);
    if (known && known.seq === head.seq) return known;
    const tail = await deps.store.read(runId, Math.max(1, head.seq - OUTCOME_WINDOW));
    const outcome = tail.findLast((e) => e.type === 'message' && e.topic === TOPICS.outcome);
    const p = (outcome?.type === 'message' ? outcome.payload : undefined) as
      | { outcome?: string; reason?: string; usage?: { tokens?: number; cost?: number } }
      | undefined;
    const info: RunInfo = {
      runId,
      status: 'ended',
      outcome: p?.outcome ?? 'interrupted',
      ...(p?.reason ? { reason: p.reason } : {}),
      version: head.version,
      seq: head.seq,
      ...(await startedAt(runId)),
      ...(p?.usage ? { tokens: p.usage.tokens ?? 0, cost: p.usage.cost ?? 0 } : {}),
    };
    infos.delete(runId);
    infos.set(runId, info);
    if (infos.size > MAX_INFOS) infos.delete(infos.keys().next().value!);
    return info;
  }

  const liveInfo = async (runId: string, board: Blackboard<unknown>): Promise<RunInfo> => {
    const usage = deps.usageOf(runId);
    return {
      runId,
      status: 'running',
      version: board.version,
      seq: board.seq,
      ...(await startedAt(runId)),
      ...(usage ? { tokens: usage.tokens, cost: usage.cost } : {}),
    };
  };

  const liveRun = (runId: string) => deps.live.get(runId);
  /**
   * Boards of runs not live here, on a store that announces writes: one per run, following it, for the
   * MAX_FOLLOWED runs most recently asked for.
   */
  const followed = new Map<string, Promise<Blackboard<unknown>>>();

  // A deleted run leaves nothing behind here: its cached info, start time and followed board go.
  deps.onRunDeleted?.((runId) => {
    infos.delete(runId);
    starts.delete(runId);
    const board = followed.get(runId);
    followed.delete(runId);
    void board?.then((b) => b.unfollow()).catch(() => undefined);
  });

  const notRunning = (runId: string): HubCommitResult => ({
    ok: false,
    code: 'not_running',
    message: `Run "${runId}" is not running in this runtime.`,
  });

  const unknownAgent = (agentId: string): HubCommitResult => ({
    ok: false,
    code: 'forbidden',
    message: `No agent "${agentId}" is registered on this runtime.`,
  });

  return {
    server: deps.server,
    cached: () => infos.size + starts.size + followed.size,
    ...(deps.onRunDeleted ? { onRunDeleted: deps.onRunDeleted } : {}),
    async listRuns() {
      const out: RunInfo[] = await Promise.all([...deps.live].map(([id, run]) => liveInfo(id, run.board)));
      for (const runId of (await deps.store.listRuns?.()) ?? []) {
        if (deps.live.has(runId) || !owns(runId)) continue;
        out.push(await endedInfo(runId));
      }
      return out;
    },
    async openRun(runId): Promise<HubBoard | undefined> {
      const live = liveRun(runId);
      if (live) return live.board;
      // Opening a board for a run the store does not hold would create it: ask the store first.
      if (!(await holds(runId))) return undefined;
      // A store that announces writes keeps one board per run up to date (run elsewhere, or answered while
      // paused): it is shared by every follower, not opened again for each (each would read for ever).
      if (deps.store.watch) {
        let opened = followed.get(runId);
        if (!opened) {
          opened = deps.openBoard(runId);
          opened.catch(() => followed.delete(runId));
          // The oldest beyond the bound stops following (it stays readable, as of then).
          if (followed.size >= MAX_FOLLOWED) {
            const [oldest, board] = followed.entries().next().value!;
            followed.delete(oldest);
            void board.then((b) => b.unfollow()).catch(() => undefined);
          }
        }
        // Most recently asked last.
        followed.delete(runId);
        followed.set(runId, opened);
        return opened;
      }
      // Otherwise a board read back from the store each time (an answer to a paused run may have moved it).
      return deps.openBoard(runId);
    },
    onRunStarted: deps.onRunStarted,
    agentWrites: (agentId) => byId.get(agentId)?.writes,
    async commit(req) {
      const run = liveRun(req.runId);
      if (!run) return notRunning(req.runId);
      if (req.activationId !== undefined && req.via) {
        return deps.remote.write(req.via, req.runId, req.activationId, req.agentId, {
          type: 'commit',
          baseVersion: req.baseVersion,
          reads: req.reads,
          patches: req.patches,
        });
      }
      const def = byId.get(req.agentId);
      if (!def) return unknownAgent(req.agentId);
      const forbidden = forbiddenCommit(
        def,
        req.patches.map((p) => p.path),
      );
      if (forbidden) {
        return {
          ok: false,
          code: forbidden.code,
          message: forbidden.message,
          detail: { path: forbidden.path },
        };
      }
      const r = await run.board.commit({
        baseVersion: req.baseVersion,
        reads: req.reads,
        patches: req.patches,
        author: req.agentId,
      });
      return r.ok
        ? { ok: true, version: r.event.version, duplicate: r.duplicate }
        : { ok: false, code: r.error.code, message: r.error.message, detail: r.error };
    },
    async publish(req) {
      const run = liveRun(req.runId);
      if (!run) return notRunning(req.runId);
      if (req.activationId !== undefined && req.via) {
        return deps.remote.write(req.via, req.runId, req.activationId, req.agentId, {
          type: 'publish',
          topic: req.topic,
          payload: req.payload,
        });
      }
      if (!byId.has(req.agentId)) return unknownAgent(req.agentId);
      const r = await run.board.publish(req.topic, req.payload, { author: req.agentId });
      return r.ok
        ? { ok: true, version: r.event.version, duplicate: false }
        : { ok: false, code: r.error.code, message: r.error.message, detail: r.error };
    },
    answer: deps.answer,
    runOf: deps.runOf,
    pendingApprovals: async (runId) => (await deps.pendingApprovals(runId)).filter((p) => owns(p.runId)),
    agenda(runId, action, agentId, key) {
      const run = liveRun(runId);
      if (!run) return false;
      run[action](agentId, key);
      return true;
    },
    hostAgents: (channel, ids) => deps.remote.host(channel, ids),
    fromRemote: (channel, m) => deps.remote.fromRemote(channel, m),
    machineDefinition(agentId) {
      const def = byId.get(agentId);
      return def ? machineJson(def) : undefined;
    },
    describeAgents: (): AgentInfo[] =>
      deps.agents.map((a) => ({
        id: a.id,
        lifecycle: a.kind,
        watches: a.watches as AgentInfo['watches'],
        writes: a.writes as AgentInfo['writes'],
        priority: a.priority,
        concurrency: a.concurrency,
        remote: deps.remoteIds.has(a.id),
        ...(a.budget ? { budget: { ...a.budget } } : {}),
        machine: JSON.parse(machineJson(a)) as unknown,
      })),
  };
}

/** A machine's config as JSON, its functions (guards, actions, actors given inline) named by their type. */
const machineJson = (def: Pick<AgentDefinition, 'machine'>): string =>
  JSON.stringify(def.machine.config, (_key, value: unknown) =>
    typeof value === 'function' ? { type: (value as { name?: string }).name || 'anonymous' } : value,
  );

/**
 * One hub source over a runtime and its child teams (which share its store): each run goes to the team
 * that owns it (`teamOf`, from the run's id), agents are described with their team, and remote agents and
 * their requests stay with the top runtime.
 */
export function combineHubSources(
  own: HubSource,
  teams: ReadonlyMap<string, HubSource>,
  teamOf: (runId: string) => string | undefined,
): HubSource {
  const all = [own, ...teams.values()];
  const owner = (runId: string): HubSource => {
    const team = teamOf(runId);
    return (team === undefined ? undefined : teams.get(team)) ?? own;
  };
  return {
    server: own.server,
    listRuns: async () => (await Promise.all(all.map((s) => s.listRuns()))).flat(),
    pendingApprovals: async (runId) =>
      runId === undefined
        ? (await Promise.all(all.map((s) => s.pendingApprovals()))).flat()
        : owner(runId).pendingApprovals(runId),
    openRun: (runId) => owner(runId).openRun(runId),
    onRunStarted(listener) {
      const stops = all.map((s) => s.onRunStarted(listener));
      return () => {
        for (const stop of stops) stop();
      };
    },
    onRunDeleted(listener) {
      const stops = all.map((s) => s.onRunDeleted?.(listener));
      return () => {
        for (const stop of stops) stop?.();
      };
    },
    agentWrites: (agentId) => own.agentWrites(agentId),
    commit: (req) => owner(req.runId).commit(req),
    publish: (req) => owner(req.runId).publish(req),
    runOf: (requestId) => own.runOf(requestId),
    answer: (requestId, answer) => {
      const runId = own.runOf(requestId);
      return (runId === undefined ? own : owner(runId)).answer(requestId, answer);
    },
    agenda: (runId, action, agentId, key) => owner(runId).agenda(runId, action, agentId, key),
    hostAgents: (channel, ids) => own.hostAgents(channel, ids),
    fromRemote: (channel, m) => own.fromRemote(channel, m),
    machineDefinition: (agentId) =>
      own.machineDefinition(agentId) ??
      [...teams.values()].map((s) => s.machineDefinition(agentId)).find(Boolean),
    describeAgents: () => [
      ...own.describeAgents(),
      ...[...teams].flatMap(([team, s]) => s.describeAgents().map((a) => ({ ...a, team }))),
    ],
  };
}
