import fc from 'fast-check';
import {
  type ApprovalDecision,
  createRuntime,
  defineAgent,
  keyed,
  type LogEvent,
  stepMachine,
  TOPICS,
} from 'hearsay';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { stableHash, type ToolRun } from '../../src/llm/index.js';
import { transferTool } from '../support/transfer-tool.js';

// The invariant of single-use approvals, for random scripts of requests, answers and attempts to run
// (sequential and concurrent, with live approvals, copies, forgeries, other arguments, other key orders):
// every run of the irreversible tool consumed a distinct approved request for exactly its canonical
// arguments, and each consumption is one `used` record on the log.

const Board = z.object({ go: z.boolean(), outcome: keyed(z.string()) });
type B = z.output<typeof Board>;

const ARGS = [
  { to: 'a', amount: 1 },
  { to: 'b', amount: 2 },
];
/** The same arguments in the other key order. */
const reordered = (i: number) => ({ amount: ARGS[i]!.amount, to: ARGS[i]!.to });
const canonical = (args: unknown) => stableHash(args);

type Holding =
  | { kind: 'live'; index: number }
  | { kind: 'copy'; index: number }
  | { kind: 'forged'; args: number };
type Step =
  | { kind: 'request'; args: number; approve: boolean }
  | { kind: 'run'; args: number; reorder: boolean; holding: Holding[]; times: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('request' as const), args: fc.nat(1), approve: fc.boolean() }),
  fc.record({
    kind: fc.constant('run' as const),
    args: fc.nat(1),
    reorder: fc.boolean(),
    holding: fc.array(
      fc.oneof(
        fc.record({ kind: fc.constant('live' as const), index: fc.nat(5) }),
        fc.record({ kind: fc.constant('copy' as const), index: fc.nat(5) }),
        fc.record({ kind: fc.constant('forged' as const), args: fc.nat(1) }),
      ),
      { maxLength: 3 },
    ),
    times: fc.integer({ min: 1, max: 3 }),
  }),
);

async function play(script: Step[]) {
  const ran: unknown[] = [];
  const transfer = transferTool(ran);
  const answers = script.flatMap((s) => (s.kind === 'request' ? [s.approve] : []));
  const agent = defineAgent<B>({
    id: 'actor',
    watches: [['go']],
    writes: [['outcome']],
    retry: { attempts: 1 },
    machine: stepMachine<B, string>({
      when: (b) => b.go && !b.outcome.has('actor'),
      work: async ({ tools }) => {
        const approvals: ApprovalDecision[] = [];
        for (const s of script) {
          if (s.kind === 'request') {
            approvals.push(await tools.requestApproval({ action: 'transfer_funds', args: ARGS[s.args] }));
            continue;
          }
          const held = s.holding.flatMap((h): unknown[] => {
            if (h.kind === 'forged') {
              const argsHash = stableHash({ action: 'transfer_funds', args: ARGS[h.args] });
              return [{ approved: true, requestId: 'x/y:1:z', argsHash, by: 'operator' }];
            }
            const a = approvals[h.index];
            if (!a) return [];
            return [h.kind === 'live' ? a : { ...a }];
          });
          const args = s.reorder ? reordered(s.args) : ARGS[s.args];
          await Promise.all(
            Array.from({ length: s.times }, (_, i) =>
              tools.runTools(
                [{ id: `c${i}`, name: 'transfer_funds', args, irreversible: true }],
                [transfer],
                {
                  approvals: held as ApprovalDecision[],
                  missing: 'refuse',
                  // The test of the API this replaced (approves(decision, call)), which let such scripts
                  // run a tool more often than it was approved; today it is not an option and is ignored.
                  ...({
                    approved: (c: { name: string; args: unknown }) =>
                      held.some(
                        (d) =>
                          (d as ApprovalDecision).approved === true &&
                          (d as ApprovalDecision).argsHash === stableHash({ action: c.name, args: c.args }),
                      ),
                  } as object),
                },
              ),
            ),
          ).then((runs) => runs.flat() as ToolRun[]);
        }
        return 'done';
      },
      done: (d, out) => void d.outcome.set('actor', out),
    }),
  });
  const rt = createRuntime({
    board: { schema: Board, initial: { go: false, outcome: {} } },
    agents: [agent],
    limits: { approvalTimeoutMs: 60_000 },
  });
  const handle = await rt.start({ go: true });
  const log: LogEvent[] = [];
  let asked = 0;
  handle.board.subscribe({ from: 1 }, (e) => {
    log.push(e);
    if (e.type !== 'message' || e.topic !== TOPICS.approval) return;
    const p = e.payload as { phase: string; requestId: string };
    if (p.phase !== 'requested') return;
    const approve = answers[asked++];
    void (approve
      ? rt.approve(p.requestId, { by: 'alice' })
      : rt.reject(p.requestId, { by: 'bob', reason: 'no' }));
  });
  const result = await handle.result;
  await rt.close();
  return { ran, log, result };
}

describe('single-use approvals, for any script of requests and attempts', () => {
  it('each run of an irreversible tool consumed one distinct approved request for exactly its arguments', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), async (script) => {
        const { ran, log, result } = await play(script);
        expect(result.board.outcome.get('actor')).toBe('done');
        const records = log.flatMap((e) =>
          e.type === 'message' && e.topic === TOPICS.approval
            ? [e.payload as { phase: string; requestId: string; argsHash?: string; args?: unknown }]
            : [],
        );
        const requested = new Map(
          records.filter((r) => r.phase === 'requested').map((r) => [r.requestId, r]),
        );
        const approved = new Set(
          records
            .filter(
              (r) =>
                r.phase === 'answered' && (r as { decision?: { approved?: boolean } }).decision?.approved,
            )
            .map((r) => r.requestId),
        );
        const used = records.filter((r) => r.phase === 'used').map((r) => r.requestId);
        // One `used` record per run, each for a distinct request that was approved.
        expect(used).toHaveLength(ran.length);
        expect(new Set(used).size).toBe(used.length);
        for (const id of used) expect(approved.has(id)).toBe(true);
        // And each run's arguments are those of the request it used.
        const ranByArgs = new Map<string, number>();
        for (const a of ran) ranByArgs.set(canonical(a), (ranByArgs.get(canonical(a)) ?? 0) + 1);
        const usedByArgs = new Map<string, number>();
        for (const id of used) {
          const key = canonical(requested.get(id)!.args);
          usedByArgs.set(key, (usedByArgs.get(key) ?? 0) + 1);
        }
        expect(ranByArgs).toEqual(usedByArgs);
        // Never more runs than approvals, whatever was held.
        expect(ran.length).toBeLessThanOrEqual(approved.size);
      }),
      { numRuns: 60 },
    );
  });
});
