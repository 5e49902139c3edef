import type { ApprovalDecision } from '../actors/index.js';
import type { LogEvent } from '../blackboard/index.js';
import { argsHashOf } from '../llm/approval.js';
import { TOPICS } from './events.js';

export { argsHashOf };

/** Authors whose approval records count: the scheduler, and the runtime's operator API. No agent may use them. */
export const APPROVAL_AUTHORS: ReadonlySet<string> = new Set(['scheduler', 'operator']);

/** What the log says of one request. */
export interface RecordedApproval {
  readonly requestId: string;
  readonly key: string;
  readonly argsHash: string;
  readonly action: string;
  readonly args: unknown;
  readonly agentId: string;
  readonly activationId: string;
  readonly summary?: string;
  /** The board version when it was requested. */
  readonly version?: number;
  readonly escalated?: boolean;
  readonly answer?: ApprovalDecision;
  readonly used: boolean;
}

/**
 * A request waiting for a human: what to approve, and the id to answer it with
 * (`runtime.approve(requestId, …)`, `client.approve(requestId)`, `hearsay approve <requestId> …`).
 *
 * @example
 * const [p] = await runtime.pendingApprovals(runId);
 * if (p?.action === 'transfer_funds') await runtime.approve(p.requestId, { by: 'alice' });
 */
export interface PendingApproval {
  readonly runId: string;
  readonly requestId: string;
  readonly agentId: string;
  readonly activationId: string;
  readonly action: string;
  readonly args: unknown;
  readonly argsHash: string;
  readonly summary?: string;
  readonly version?: number;
  /** Past its timeout once already, under `approvalTimeout: 'escalate'`. */
  readonly escalated?: boolean;
}

/**
 * An irreversible step that did not happen because its approval was refused or never came
 * (`result.declined`; the run's reason names it too).
 *
 * @example
 * const result = await runtime.run(input);
 * for (const d of result.declined) alert(`${d.action} not done: ${d.why} (${d.by}: ${d.reason})`);
 */
export interface DeclinedApproval {
  readonly requestId: string;
  readonly agentId: string;
  readonly action: string;
  readonly args: unknown;
  /** `rejected`: someone said no; `timed_out`: nobody answered within `approvalTimeoutMs`. */
  readonly why: 'rejected' | 'timed_out';
  /** Who rejected it (`timeout` when it timed out). */
  readonly by: string;
  readonly reason: string;
}

/** Every approval request on a run's log, with its answer and whether it was used. */
export function approvalsFrom(log: readonly LogEvent[]): Map<string, RecordedApproval> {
  const out = new Map<string, RecordedApproval>();
  for (const e of log) {
    // Only the scheduler and the runtime's operator API write approval records; anything else on this
    // topic (a remote agent, a tool's output replayed on the bus) is not an answer.
    if (e.type !== 'message' || e.topic !== TOPICS.approval || !APPROVAL_AUTHORS.has(e.author)) continue;
    const p = e.payload as Record<string, unknown> & { requestId: string };
    const known = out.get(p.requestId);
    if (p.phase === 'requested')
      out.set(p.requestId, {
        requestId: p.requestId,
        key: String(p.key),
        argsHash: String(p.argsHash),
        action: String(p.action),
        args: p.args,
        agentId: String(p.agentId),
        activationId: String(p.activationId),
        ...(typeof p.summary === 'string' ? { summary: p.summary } : {}),
        ...(typeof p.version === 'number' ? { version: p.version } : {}),
        used: false,
      });
    else if (known && p.phase === 'answered' && !known.answer)
      out.set(p.requestId, { ...known, answer: p.decision as ApprovalDecision });
    else if (known && p.phase === 'escalated') out.set(p.requestId, { ...known, escalated: true });
    else if (known && p.phase === 'used') out.set(p.requestId, { ...known, used: true });
  }
  return out;
}

/** The request as a pending approval of run `runId` (undefined once answered). */
export function pendingOf(runId: string, r: RecordedApproval): PendingApproval | undefined {
  if (r.answer) return undefined;
  return {
    runId,
    requestId: r.requestId,
    agentId: r.agentId,
    activationId: r.activationId,
    action: r.action,
    args: r.args,
    argsHash: r.argsHash,
    ...(r.summary === undefined ? {} : { summary: r.summary }),
    ...(r.version === undefined ? {} : { version: r.version }),
    ...(r.escalated ? { escalated: true } : {}),
  };
}

/** The request as a declined step (undefined unless it was rejected or timed out). */
export function declinedOf(r: RecordedApproval): DeclinedApproval | undefined {
  const a = r.answer;
  if (!a || a.approved) return undefined;
  return {
    requestId: r.requestId,
    agentId: r.agentId,
    action: r.action,
    args: r.args,
    why: a.timedOut === true ? 'timed_out' : 'rejected',
    by: a.by,
    reason: a.reason,
  };
}

/** One line for a run's reason: which irreversible steps did not happen, and why. */
export function describeDeclined(declined: readonly DeclinedApproval[]): string {
  const each = declined.map((d) =>
    d.why === 'timed_out'
      ? `${d.action} (${d.requestId}) timed out: ${d.reason}`
      : `${d.action} (${d.requestId}) rejected by ${d.by}: ${d.reason}`,
  );
  return `${declined.length} irreversible step(s) did not happen: ${each.join('; ')}`;
}

/** The run a request id belongs to (`<runId>/<activation>:<n>:<hash>`). */
export function runOfRequest(requestId: string): string | undefined {
  const i = requestId.lastIndexOf('/');
  return i > 0 ? requestId.slice(0, i) : undefined;
}
