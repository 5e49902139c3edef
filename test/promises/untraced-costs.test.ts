/**
 * Issue 24 (the fixed cost of an activation): without a tracing SDK, an activation's span records nothing,
 * so the attributes and summaries built for it (each passed through `redact`) were dropped unread. Counted
 * here: `redact` calls in an untraced run. The log still carries each activation's traceparent.
 */
import { createRuntime, defineAgent, stepMachine } from 'hearsay';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

describe('an untraced run builds no span attributes', () => {
  it('calls redact for no activation span, and still puts a traceparent on every started record', async () => {
    let redacted = 0;
    const Board = z.object({ n: z.number() });
    const bump = defineAgent({
      id: 'bump',
      watches: [['n']],
      writes: [['n']],
      machine: stepMachine({
        when: (b: { n: number }) => b.n < 20,
        work: async () => null,
        done: (d: { n: number }) => {
          d.n += 1;
        },
      }),
    });
    const runtime = createRuntime({
      board: { schema: Board, initial: { n: 0 } },
      agents: [bump],
      limits: { depth: 100 },
      observability: {
        redact: (t) => {
          redacted += 1;
          return t;
        },
      },
    });
    const handle = await runtime.start();
    const started: unknown[] = [];
    // The outcome record is the log's last: once the subscriber has it, it has had every started record.
    const outcomeSeen = new Promise<void>((resolve) => {
      handle.board.subscribe({ from: 1 }, (e) => {
        if (e.type === 'message' && e.topic === 'hearsay.activation') {
          const p = e.payload as { phase: string; traceparent?: string };
          if (p.phase === 'started') started.push(p.traceparent);
        }
        if (e.type === 'message' && e.topic === 'hearsay.outcome') resolve();
      });
    });
    const result = await handle.result;
    await outcomeSeen;
    // Closing waits for what the run still had under way, so every redact call has been made.
    await runtime.close();
    expect(result.board.n).toBe(20);
    expect(started.length).toBe(20);
    for (const tp of started) expect(tp).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    // The run's own summary (its outcome) may pass through redact; no activation's does.
    expect(redacted).toBeLessThanOrEqual(1);
  });
});
