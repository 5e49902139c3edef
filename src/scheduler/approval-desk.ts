import type { ApprovalDecision, ApprovalRequest } from '../actors/index.js';
import type { Clock } from '../blackboard/clock.js';
import { type ApprovalRefusal, argsHashOf, issueApproval } from '../llm/approval.js';
import { ApprovalArgsError, canonicalArgs } from '../llm/canonical-args.js';
import type { LogTopic, PayloadOf, RecordWriter } from '../protocol/records.js';
import {
  type DeclinedApproval,
  declinedOf,
  type PendingApproval,
  pendingOf,
  type RecordedApproval,
} from './approvals.js';
import { TOPICS } from './events.js';

/** An operator's decision, before the desk binds it to its request. */
export type OperatorDecision =
  | { approved: true; by: string; comment?: string }
  | { approved: false; by: string; reason: string; timedOut?: boolean };

/** What the desk needs from its run. */
export interface ApprovalDeskContext {
  readonly runId: string;
  readonly clock: Clock;
  readonly timeoutMs: number | undefined;
  readonly onTimeout: 'reject' | 'escalate';
  /** Appends a record on the run's log. */
  readonly record: RecordWriter;
  /** Appends a record on the run's log and resolves once it is there (false: it could not be written). */
  readonly persist: <T extends LogTopic>(topic: T, payload: PayloadOf<T>) => Promise<boolean>;
  /** The board version now (part of each request). */
  readonly version: () => number;
  /** Called when a request starts waiting (the scheduler then checks whether the run must pause). */
  readonly onWaiting: () => void;
}

/** Who asks: the activation, its agent and its abort signal. */
export interface Asker {
  readonly activationId: string;
  readonly agentId: string;
  readonly signal: AbortSignal;
  /** The n-th request of the activation's current attempt. */
  readonly ordinal: number;
}

interface Waiter {
  readonly activationId: string;
  readonly resolve: (d: ApprovalDecision) => void;
  timer: unknown;
  escalated: boolean;
}

/**
 * One run's approval requests: records them, matches a repeated request (a resumed activation) with its
 * earlier unused record, hands each answer over as a live approval (a capability only this desk issues)
 * and marks it used — synchronously, then on the log — when the action runs, and applies the timeout
 * policy. With a timeout the request is pending work; without one, a run whose every activation waits on
 * the desk pauses.
 */
export class ApprovalDesk {
  private readonly requests = new Map<string, RecordedApproval>();
  private readonly waiting = new Map<string, Waiter>();
  private closed = false;

  constructor(private readonly ctx: ApprovalDeskContext) {}

  /** Requests read back from the log of a resumed run (their answers and uses included). */
  restore(records: ReadonlyMap<string, RecordedApproval>): void {
    for (const [id, rec] of records) this.requests.set(id, rec);
  }

  /** The run has ended: its approvals approve nothing more. */
  close(): void {
    this.closed = true;
  }

  /** Whether the activation waits for a human's answer (with or without a timeout). */
  isWaiting(activationId: string): boolean {
    for (const w of this.waiting.values()) if (w.activationId === activationId) return true;
    return false;
  }

  /** Activations whose requests wait with no timeout: if they are all that is in flight, the run pauses. */
  blockedActivations(): Set<string> {
    return new Set(
      [...this.waiting.values()].filter((w) => w.timer === undefined).map((w) => w.activationId),
    );
  }

  /** Ids of the requests waiting with no timeout. */
  pendingIds(): string[] {
    return [...this.waiting].filter(([, w]) => w.timer === undefined).map(([id]) => id);
  }

  /** Every request of the run that has no answer yet. */
  pending(): PendingApproval[] {
    return [...this.requests.values()].flatMap((r) => pendingOf(this.ctx.runId, r) ?? []);
  }

  /** Every request of the run that was rejected or timed out. */
  declined(): DeclinedApproval[] {
    return [...this.requests.values()].flatMap((r) => declinedOf(r) ?? []);
  }

  /**
   * Records a request and waits for its answer. With `policy`, a request that has no answer yet is
   * answered at once by the policy (recorded like any answer, so the log shows who decided).
   *
   * The arguments are taken once, here: one deep-frozen copy of plain JSON data within the board's default
   * bounds, which is what is recorded, hashed and approved. Arguments over a bound or not plain JSON are
   * misuse: the promise rejects with an `ApprovalArgsError` (`code` `limit_exceeded` or `invalid_args`).
   */
  request(asker: Asker, asked: ApprovalRequest, policy?: OperatorDecision): Promise<ApprovalDecision> {
    // An activation that has ended (code it left running asks after its end) asks nothing: no request is
    // recorded for operators to answer, and no waiter is left behind.
    if (asker.signal.aborted) return Promise.reject(asker.signal.reason);
    let request: ApprovalRequest;
    try {
      const { action, summary } = asked;
      const checked = canonicalArgs(asked.args, `The arguments of the approval request for "${action}"`);
      if (!checked.ok) return Promise.reject(new ApprovalArgsError(checked));
      request = { action, args: checked.args, ...(summary === undefined ? {} : { summary }) };
    } catch (error) {
      return Promise.reject(error);
    }
    const argsHash = argsHashOf(request.action, request.args);
    const key = `${asker.activationId}:${asker.ordinal}:${argsHash.slice(0, 16)}`;
    // The same request made again (a resumed activation, a retry) finds its earlier, unused record.
    let rec = [...this.requests.values()].find((r) => r.key === key && !r.used);
    if (!rec) {
      const uses = [...this.requests.values()].filter((r) => r.key === key).length;
      const requestId = `${this.ctx.runId}/${key}${uses > 0 ? `#${uses + 1}` : ''}`;
      const summary = request.summary === undefined ? {} : { summary: request.summary };
      const version = this.ctx.version();
      rec = {
        requestId,
        key,
        argsHash,
        action: request.action,
        args: request.args,
        agentId: asker.agentId,
        activationId: asker.activationId,
        ...summary,
        version,
        used: false,
      };
      this.requests.set(requestId, rec);
      this.ctx.record(TOPICS.approval, {
        phase: 'requested',
        requestId,
        key,
        agentId: asker.agentId,
        activationId: asker.activationId,
        action: request.action,
        args: request.args,
        argsHash,
        ...summary,
        version,
      });
    }
    const { requestId } = rec;
    if (!rec.answer && policy) this.answer(requestId, policy);
    if (this.requests.get(requestId)!.answer) return Promise.resolve(this.issue(requestId));
    return new Promise<ApprovalDecision>((resolve, reject) => {
      const { clock, timeoutMs } = this.ctx;
      const onTimeout = (): void => {
        const waiter = this.waiting.get(requestId);
        if (this.ctx.onTimeout === 'escalate' && waiter && !waiter.escalated) {
          waiter.escalated = true;
          const r = this.requests.get(requestId);
          if (r) this.requests.set(requestId, { ...r, escalated: true });
          this.ctx.record(TOPICS.approval, { phase: 'escalated', requestId, afterMs: timeoutMs! });
          waiter.timer = clock.setTimeout(onTimeout, timeoutMs!);
          return;
        }
        this.answer(requestId, {
          approved: false,
          by: 'timeout',
          reason: `no answer within ${timeoutMs} ms`,
          timedOut: true,
        });
      };
      const timer = timeoutMs === undefined ? undefined : clock.setTimeout(onTimeout, timeoutMs);
      const onAbort = () => {
        const waiter = this.waiting.get(requestId);
        if (waiter?.timer !== undefined) clock.clearTimeout(waiter.timer);
        this.waiting.delete(requestId);
        reject(asker.signal.reason);
      };
      // An answered request lets go of the activation's signal (its retries would pile listeners up).
      const settle = (decision: ApprovalDecision) => {
        asker.signal.removeEventListener('abort', onAbort);
        resolve(decision);
      };
      this.waiting.set(requestId, {
        activationId: asker.activationId,
        resolve: settle,
        timer,
        escalated: false,
      });
      asker.signal.addEventListener('abort', onAbort, { once: true });
      this.ctx.onWaiting();
    });
  }

  /** Records an operator's answer; a waiting activation goes on at once. */
  answer(requestId: string, decision: OperatorDecision): 'answered' | 'unknown_request' | 'already_answered' {
    const rec = this.requests.get(requestId);
    if (!rec) return 'unknown_request';
    if (rec.answer) return 'already_answered';
    const full = { ...decision, requestId, argsHash: rec.argsHash } as ApprovalDecision;
    this.requests.set(requestId, { ...rec, answer: full });
    this.ctx.record(TOPICS.approval, { phase: 'answered', requestId, decision: full });
    const waiter = this.waiting.get(requestId);
    if (waiter) {
      this.waiting.delete(requestId);
      if (waiter.timer !== undefined) this.ctx.clock.clearTimeout(waiter.timer);
      waiter.resolve(this.issue(requestId));
    }
    return 'answered';
  }

  /**
   * Hands an answer over as a live approval: a fresh frozen copy of the decision that only this desk
   * recognizes, bound to this run, the request's action and its argument hash. Using it is `consume`.
   */
  private issue(requestId: string): ApprovalDecision {
    const rec = this.requests.get(requestId)!;
    const answer = rec.answer!;
    return issueApproval(
      { ...answer },
      {
        runId: this.ctx.runId,
        requestId,
        action: rec.action,
        argsHash: rec.argsHash,
        approved: answer.approved,
        ...(answer.approved ? {} : { reason: answer.reason }),
        consume: () => this.consume(requestId),
      },
    );
  }

  /**
   * Marks an approval used, at once and for good (a resumed run reads it back from the log), before the
   * action runs; a second use is refused and the refusal recorded.
   */
  private consume(
    requestId: string,
  ): { ok: true; recorded: Promise<ApprovalRefusal | undefined> } | ApprovalRefusal {
    const rec = this.requests.get(requestId)!;
    if (this.closed)
      return { ok: false, code: 'approval_required', message: `Run ${this.ctx.runId} has ended.` };
    if (rec.used) {
      this.ctx.record(TOPICS.approval, { phase: 'refused', requestId, code: 'approval_used' });
      return {
        ok: false,
        code: 'approval_used',
        message: `The approval ${requestId} was used already: request a new one.`,
      };
    }
    this.requests.set(requestId, { ...rec, used: true });
    const recorded = this.ctx
      .persist(TOPICS.approval, { phase: 'used', requestId, action: rec.action, argsHash: rec.argsHash })
      .then((ok) =>
        ok
          ? undefined
          : ({
              ok: false,
              code: 'approval_required',
              message: `The use of ${requestId} could not be recorded on the log, so the action did not run.`,
            } as const),
      );
    return { ok: true, recorded };
  }
}
