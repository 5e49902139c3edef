import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { assertAgentIdAllowed } from '../blackboard/index.js';

/** A role a token grants: read-only `inspect`, `operator` (answers approvals), `agent:<id>` (commits as it). */
export type Role = 'inspect' | 'operator' | `agent:${string}`;

/** What a bearer token grants. */
export interface TokenGrant {
  readonly roles: readonly Role[];
  /** Runs this token may see and act on (all runs when absent). */
  readonly runs?: readonly string[];
  /** Who holds it, as recorded on approvals (`by`); defaults to the roles. */
  readonly name?: string;
}

/** Tokens configured on a hub: each maps to a role, several roles, or a full grant. */
export type Tokens = Readonly<Record<string, Role | readonly Role[] | TokenGrant>>;

/** An authenticated connection's rights. */
export interface Grant {
  readonly name: string;
  readonly roles: readonly string[];
  readonly operator: boolean;
  /** Agents this connection may act as. `'*'`: any (development mode). */
  readonly agents: ReadonlySet<string> | '*';
  readonly runs: ReadonlySet<string> | undefined;
}

/**
 * The WebSocket subprotocol the hub speaks; browsers send the token as a second subprotocol
 * `bearer.<token>`. For talking to a hub without `hearsay/client` (which sends both).
 *
 * @example
 * import { SUBPROTOCOL } from 'hearsay/hub';
 * import { WebSocket } from 'ws';
 *
 * const socket = new WebSocket('ws://127.0.0.1:7400/hearsay', [SUBPROTOCOL, `bearer.${token}`]);
 */
export const SUBPROTOCOL = 'hearsay.v1';
const BEARER_PROTOCOL = 'bearer.';

const digest = (token: string) => createHash('sha256').update(token).digest();

const ROLE = /^(inspect|operator|agent:[A-Za-z0-9_.\-:/]+)$/;

/** Looks up presented tokens by their digest, compared in constant time. */
export class TokenTable {
  private readonly entries: { digest: Buffer; grant: Grant }[] = [];

  constructor(tokens: Tokens) {
    for (const [token, spec] of Object.entries(tokens)) {
      if (token.length < 16)
        throw new TypeError(
          'Hub tokens must be at least 16 characters (use crypto.randomBytes(24).toString("base64url")).',
        );
      const grant: TokenGrant =
        typeof spec === 'string'
          ? { roles: [spec] }
          : Array.isArray(spec)
            ? { roles: spec as Role[] }
            : (spec as TokenGrant);
      for (const role of grant.roles) {
        if (!ROLE.test(role))
          throw new TypeError(`Unknown hub role "${role}" (inspect, operator or agent:<id>).`);
      }
      const agents = new Set(grant.roles.filter((r) => r.startsWith('agent:')).map((r) => r.slice(6)));
      for (const agentId of agents) assertAgentIdAllowed(agentId);
      this.entries.push({
        digest: digest(token),
        grant: {
          name: grant.name ?? grant.roles.join('+'),
          roles: ['inspect', ...grant.roles.filter((r) => r !== 'inspect')],
          operator: grant.roles.includes('operator'),
          agents,
          runs: grant.runs ? new Set(grant.runs) : undefined,
        },
      });
    }
  }

  /** The grant of a presented token, or undefined. Every entry is compared, so timing tells nothing. */
  lookup(token: string): Grant | undefined {
    const d = digest(token);
    let found: Grant | undefined;
    for (const e of this.entries) if (timingSafeEqual(d, e.digest)) found = e.grant;
    return found;
  }
}

/** The grant of development mode (no tokens; loopback only). */
export const DEV_GRANT: Grant = {
  name: 'dev',
  roles: ['inspect', 'operator', 'agent:*'],
  operator: true,
  agents: '*',
  runs: undefined,
};

/** The bearer token of an upgrade request: `Authorization: Bearer …`, or a `bearer.…` subprotocol. */
export function presentedToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const protocols = req.headers['sec-websocket-protocol'];
  if (typeof protocols === 'string') {
    for (const p of protocols.split(',')) {
      const t = p.trim();
      if (t.startsWith(BEARER_PROTOCOL)) return t.slice(BEARER_PROTOCOL.length);
    }
  }
  return undefined;
}

/** True for loopback peers (the only ones development mode lets in). */
export function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

/** Whether a grant lets its holder see or act on a run. */
export const admitsRun = (grant: Grant, runId: string): boolean =>
  grant.runs === undefined || grant.runs.has(runId);

/** Whether a grant lets its holder act as an agent. */
export const actsAs = (grant: Grant, agentId: string): boolean =>
  grant.agents === '*' || grant.agents.has(agentId);
