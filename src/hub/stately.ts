import type { LogEvent } from '../blackboard/index.js';

/** The `_version` field receivers of `@statelyai/inspect` messages require (any string). */
const VERSION = 'hearsay/1';

/** One XState inspection event in the wire format of `@statelyai/inspect`, as {@link StatelyTranslator} writes them. */
export type StatelyMessage = Record<string, unknown> & {
  type: '@xstate.actor' | '@xstate.event' | '@xstate.snapshot';
};

/** A state name as the scheduler records it (a string, or the JSON of a nested state value). */
const stateValue = (name: string): unknown => {
  if (!name.startsWith('{')) return name;
  try {
    return JSON.parse(name);
  } catch {
    return name;
  }
};

/**
 * Translates one run's log into XState inspection events in the wire format of `@statelyai/inspect`
 * (`@xstate.actor`, `@xstate.event`, `@xstate.snapshot`), so Stately's tooling can draw our agents'
 * statecharts. The board is the root actor; each agent (each pooled instance) is its child and sends the
 * board a `commit` event for each of its commits. Session ids derive from run, agent and item, so they are
 * stable across restarts. Actor context is not streamed (it stays in the agent's process). The hub serves
 * this stream at `<path>/stately`; use the class to translate a log yourself.
 *
 * @example
 * import { StatelyTranslator } from 'hearsay/hub';
 *
 * const translator = new StatelyTranslator('run-1', (agentId) => JSON.stringify(machines[agentId]?.config));
 * for (const event of await store.read('run-1', 1))
 *   for (const message of translator.translate(event)) inspector.send(JSON.stringify(message));
 */
export class StatelyTranslator {
  private readonly known = new Set<string>();
  private readonly board: string;

  constructor(
    private readonly runId: string,
    private readonly definitionOf: (agentId: string) => string | undefined,
  ) {
    this.board = `${runId}/board`;
  }

  translate(e: LogEvent): StatelyMessage[] {
    const out: StatelyMessage[] = [];
    const at = String(e.time);
    const common = (sessionId: string) => ({
      sessionId,
      rootId: this.board,
      id: null,
      createdAt: at,
      _version: VERSION,
    });
    if (!this.known.has(this.board)) {
      this.known.add(this.board);
      out.push({
        type: '@xstate.actor',
        ...common(this.board),
        name: `board ${this.runId}`,
        definition: JSON.stringify({
          id: 'board',
          initial: 'open',
          states: { open: { on: { commit: {} } } },
        }),
        snapshot: { status: 'active', value: 'open', context: { version: 0 } },
      });
    }
    const agentSession = (agentId: string, key: string | undefined, value: unknown) => {
      const session = key === undefined ? `${this.runId}/${agentId}` : `${this.runId}/${agentId}/${key}`;
      if (!this.known.has(session)) {
        this.known.add(session);
        out.push({
          type: '@xstate.actor',
          ...common(session),
          name: key === undefined ? agentId : `${agentId} ${key}`,
          parentId: this.board,
          definition: this.definitionOf(agentId) ?? JSON.stringify({ id: agentId }),
          snapshot: { status: 'active', value, context: {} },
        });
      }
      return session;
    };
    if (e.type === 'commit') {
      const source = this.definitionOf(e.author) ? agentSession(e.author, undefined, undefined) : undefined;
      const event = { type: 'commit', author: e.author, version: e.version, writes: e.writes };
      out.push({
        type: '@xstate.event',
        ...common(this.board),
        ...(source ? { sourceId: source } : {}),
        event,
      });
      out.push({
        type: '@xstate.snapshot',
        ...common(this.board),
        event,
        snapshot: { status: 'active', value: 'open', context: { version: e.version } },
      });
      return out;
    }
    if (e.author !== 'scheduler' || typeof e.payload !== 'object' || e.payload === null) return out;
    const p = e.payload as Record<string, unknown>;
    const agentId = typeof p.agentId === 'string' ? p.agentId : undefined;
    const key = typeof p.key === 'string' ? p.key : undefined;
    if (!agentId) return out;
    if (e.topic === 'hearsay.transition') {
      const session = agentSession(agentId, key, stateValue(String(p.from)));
      const event = { type: String(p.event) };
      out.push({ type: '@xstate.event', ...common(session), event });
      out.push({
        type: '@xstate.snapshot',
        ...common(session),
        event,
        snapshot: { status: 'active', value: stateValue(String(p.to)), context: {} },
      });
    } else if (e.topic === 'hearsay.activation' && p.phase === 'completed' && key !== undefined) {
      // A pooled instance ran to its end.
      const session = agentSession(agentId, key, undefined);
      out.push({
        type: '@xstate.snapshot',
        ...common(session),
        event: { type: 'hearsay.completed' },
        snapshot: { status: 'done', context: {} },
      });
    }
    return out;
  }
}
