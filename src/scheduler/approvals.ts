import type { ApprovalDecision } from '../actors/index.js';
import type { LogEvent } from '../blackboard/index.js';
import { stableHash } from '../llm/index.js';
import { TOPICS } from './events.js';

/** Authors whose approval records count: the scheduler, and the runtime's operator API. No agent may use them. */
export const APPROVAL_AUTHORS: ReadonlySet<string> = new Set(['scheduler', 'operator']);

/** The hash that binds an approval to exact arguments: any change needs a new approval. */
export const argsHashOf = (action: string, args: unknown): string => stableHash({ action, args });

/** What the log says of one request. */
export interface RecordedApproval {
  readonly requestId: string;
  readonly key: string;
  readonly argsHash: string;
  readonly answer?: ApprovalDecision;
  readonly used: boolean;
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
        used: false,
      });
    else if (known && p.phase === 'answered')
      out.set(p.requestId, { ...known, answer: p.decision as ApprovalDecision });
    else if (known && p.phase === 'used') out.set(p.requestId, { ...known, used: true });
  }
  return out;
}

/** The run a request id belongs to (`<runId>/<activation>:<n>:<hash>`). */
export function runOfRequest(requestId: string): string | undefined {
  const i = requestId.lastIndexOf('/');
  return i > 0 ? requestId.slice(0, i) : undefined;
}

/**
 * Whether `decision` approves exactly this call: approved, and for the same action and arguments.
 * Use it as the `approved` test of `runToolCalls`.
 *
 * @example
 * const decision = await tools.requestApproval({ action: call.name, args: call.args });
 * await runToolCalls([call], myTools, { signal, approved: (c) => approves(decision, c) });
 */
export function approves(
  decision: ApprovalDecision | undefined,
  call: { name: string; args: unknown },
): boolean {
  return decision?.approved === true && decision.argsHash === argsHashOf(call.name, call.args);
}
