import { stableHash } from './cache.js';

/** The hash that binds an approval to an action and its canonical arguments (key order does not matter). */
export const argsHashOf = (action: string, args: unknown): string => stableHash({ action, args });

/**
 * Why an irreversible call was not run (a `ToolRun`'s code, and what consuming an approval refuses with).
 *
 * @example
 * if (!run.ok && run.code === 'approval_used') await tools.requestApproval({ action: run.name, args });
 */
export type ApprovalRefusalCode = 'approval_required' | 'approval_rejected' | 'approval_used';

/**
 * A refusal to run an irreversible action: typed, with what to do about it.
 *
 * @example
 * const refusal: ApprovalRefusal = { ok: false, code: 'approval_required', message: 'Ask a human first.' };
 */
export interface ApprovalRefusal {
  readonly ok: false;
  readonly code: ApprovalRefusalCode;
  readonly message: string;
}

/**
 * What the approval desk that issued an approval keeps behind it. Only the desk makes these: an object a
 * caller builds, copies, deserializes or reads back from a log has none, so it approves nothing.
 * @internal
 */
export interface ApprovalGrant {
  readonly runId: string;
  readonly requestId: string;
  readonly action: string;
  readonly argsHash: string;
  readonly approved: boolean;
  readonly reason?: string;
  /**
   * Marks the approval used at once (synchronously: of two concurrent uses only one gets `ok`), or says
   * why it cannot be used. `recorded` settles once the use is on the run's log; run the action only then.
   */
  consume(): { readonly ok: true; readonly recorded: Promise<ApprovalRefusal | undefined> } | ApprovalRefusal;
}

// The live approvals, keyed by the very objects handed to their askers. A WeakMap (not a brand or a field)
// so nothing a caller can build, clone or parse is ever in it.
const grants = new WeakMap<object, ApprovalGrant>();

/** Registers `decision` as a live approval backed by `grant`, and freezes it. @internal */
export function issueApproval<T extends object>(decision: T, grant: ApprovalGrant): T {
  Object.freeze(decision);
  grants.set(decision, grant);
  return decision;
}

/** The grant behind a live approval; undefined for anything else. @internal */
export function grantOf(approval: unknown): ApprovalGrant | undefined {
  return typeof approval === 'object' && approval !== null ? grants.get(approval) : undefined;
}

const refusal = (code: ApprovalRefusalCode, message: string): ApprovalRefusal => ({
  ok: false,
  code,
  message,
});

/**
 * Consumes one of `approvals` for this exact call (action and canonical arguments), on the log of the run
 * that issued it, before the call runs. Resolves `{ ok: true }` once the use is recorded; otherwise a typed
 * refusal: `approval_required` (none of them is a live approval for this call, of this run), `approval_used`
 * (the approval for it was used already), `approval_rejected` (a human said no).
 */
export async function consumeApproval(
  approvals: readonly unknown[],
  call: { readonly name: string; readonly args: unknown },
  options: { readonly runId?: string } = {},
): Promise<{ readonly ok: true; readonly requestId: string } | ApprovalRefusal> {
  const hash = argsHashOf(call.name, call.args);
  let used: ApprovalGrant | undefined;
  let rejected: ApprovalGrant | undefined;
  let foreign: ApprovalGrant | undefined;
  for (const approval of approvals) {
    const grant = grantOf(approval);
    if (!grant || grant.action !== call.name || grant.argsHash !== hash) continue;
    if (options.runId !== undefined && grant.runId !== options.runId) {
      foreign = grant;
      continue;
    }
    if (!grant.approved) {
      rejected = grant;
      continue;
    }
    const taken = grant.consume();
    if (!taken.ok) {
      if (taken.code === 'approval_used') used = grant;
      continue;
    }
    const failed = await taken.recorded;
    return failed ?? { ok: true, requestId: grant.requestId };
  }
  if (used)
    return refusal(
      'approval_used',
      `The approval ${used.requestId} for "${call.name}" with these arguments was used already: an approval covers one run of the action. Request a new one.`,
    );
  if (rejected)
    return refusal(
      'approval_rejected',
      `"${call.name}" was not approved (${rejected.requestId}): ${rejected.reason ?? 'rejected'}.`,
    );
  if (foreign)
    return refusal(
      'approval_required',
      `The approval ${foreign.requestId} was issued for run ${foreign.runId}, not this one: request one in this run.`,
    );
  return refusal(
    'approval_required',
    `Tool "${call.name}" is irreversible and needs an approval for exactly these arguments, as returned by tools.requestApproval (a decision built by hand or read back from a log approves nothing).`,
  );
}
