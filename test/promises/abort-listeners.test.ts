/**
 * No per-attempt listener outlives its attempt: an activation retried many times, each attempt asking a
 * human for approval, calling a model whose server fails (so the model client retries and backs off) and
 * sleeping, keeps the listeners on its signal bounded, and Node never warns of a listener leak.
 */
import { getEventListeners } from 'node:events';
import {
  createModelClient,
  createRuntime,
  defineAgent,
  keyed,
  openAITransport,
  stepMachine,
  TOPICS,
} from 'hearsay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FakeOpenAI } from '../support/fake-openai.js';

const Board = z.object({ go: z.boolean(), out: keyed(z.string()) });
type B = z.output<typeof Board>;

let server: FakeOpenAI;
beforeAll(async () => {
  server = await new FakeOpenAI().start();
});
afterAll(() => server.stop());

describe('abort listeners', () => {
  it('stay bounded on an activation signal across 40 attempts of approvals, model retries and sleeps', async () => {
    const ATTEMPTS = 40;
    const warnings: Error[] = [];
    const onWarning = (w: Error) => {
      if (w.name === 'MaxListenersExceededWarning') warnings.push(w);
    };
    process.on('warning', onWarning);
    const counts: number[] = [];
    // Every model request fails with 500: the client retries each call three times (backing off).
    for (let i = 0; i < ATTEMPTS * 3; i++) server.reply({ status: 500 });
    const before = server.received.length;
    const flaky = defineAgent<B>({
      id: 'flaky',
      watches: [['go']],
      writes: [['out']],
      retry: { attempts: ATTEMPTS },
      machine: stepMachine<B, null>({
        when: (b) => b.go && !b.out.has('flaky'),
        work: async (event) => {
          counts.push(getEventListeners(event.tools.signal, 'abort').length);
          await event.tools.requestApproval({ action: 'try', args: { attempt: event.activation.attempt } });
          await event.tools.model({ messages: [{ role: 'user', content: 'hello' }] });
          await event.tools.sleep(1);
          counts.push(getEventListeners(event.tools.signal, 'abort').length);
          throw new Error(`attempt ${event.activation.attempt} failed`);
        },
        done: () => {},
      }),
    });
    const runtime = createRuntime({
      board: { schema: Board, initial: { go: false, out: {} } },
      agents: [flaky],
      // With a timeout a waiting request does not pause the run: the answer below comes first.
      limits: { approvalTimeoutMs: 60_000 },
      models: createModelClient({
        transport: openAITransport({ apiKey: 'k', baseURL: server.url }),
        tiers: { large: { models: ['m'] } },
        retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
      }),
    });
    try {
      const handle = await runtime.start({ go: true });
      // A human answers each approval request as it appears.
      handle.board.subscribe({ from: 1 }, (e) => {
        if (e.type !== 'message' || e.topic !== TOPICS.approval) return;
        const p = e.payload as { phase: string; requestId: string };
        if (p.phase === 'requested') runtime.approve(p.requestId, { by: 'test' });
      });
      const result = await handle.result;
      await new Promise((r) => setImmediate(r));
      expect(result.outcome).toBe('failed');
      expect(server.received.length - before).toBe(ATTEMPTS * 3);
      expect(counts).toHaveLength(ATTEMPTS * 2);
      // The attempt's own step holds one listener while it runs; nothing piles up from earlier attempts.
      expect(Math.max(...counts)).toBeLessThanOrEqual(2);
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      await runtime.close();
    }
  });
});
