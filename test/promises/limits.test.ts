/**
 * Budgets and limits say what happened: a model call refused for budget opens the agent's breaker (or
 * ends the run for a run budget) and is never retried; each limit ends the run with its own outcome.
 * Counts come from the fake OpenAI server (requests it received) and the run's log.
 */
import {
  createModelClient,
  createRuntime,
  defineAgent,
  type LogEvent,
  openAITransport,
  stepMachine,
  TOPICS,
} from 'hearsay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FakeOpenAI } from '../support/fake-openai.js';

const Board = z.object({ n: z.number() });
type B = z.output<typeof Board>;

let server: FakeOpenAI;
beforeAll(async () => {
  server = await new FakeOpenAI().start();
});
afterAll(() => server.stop());

/** About 100 tokens as the budget gate counts them (four characters a token). */
const LONG = 'x'.repeat(400);

const models = () =>
  createModelClient({
    transport: openAITransport({ apiKey: 'k', baseURL: server.url }),
    tiers: { large: { models: ['m'] } },
    retry: { attempts: 3, baseDelayMs: 0 },
  });

/**
 * An agent that, whenever n changes, calls a model and writes n + 1. With `strict`, a refused call throws
 * (the activation fails); otherwise it writes anyway (the loop goes on unless something stops it).
 */
function caller(options: { strict: boolean; budget?: { tokens: number }; when?: (b: B) => boolean }) {
  return defineAgent<B>({
    id: 'caller',
    watches: [['n']],
    writes: [['n']],
    retry: { attempts: 3 },
    ...(options.budget ? { budget: options.budget } : {}),
    machine: stepMachine<B, null>({
      when: options.when ?? (() => true),
      work: async (event) => {
        const r = await event.tools.model({ messages: [{ role: 'user', content: LONG }] });
        if (!r.ok && options.strict) throw new Error(`model: ${r.error.code}`);
        return null;
      },
      done: (d) => {
        d.n += 1;
      },
    }),
  });
}

async function run(config: Omit<Parameters<typeof createRuntime<typeof Board>>[0], 'board'>) {
  const before = server.received.length;
  const runtime = createRuntime({ board: { schema: Board, initial: { n: 0 } }, ...config });
  const handle = await runtime.start();
  const log: LogEvent[] = [];
  handle.board.subscribe({ from: 1 }, (e) => log.push(e));
  const result = await handle.result;
  await runtime.close();
  const of = <T>(topic: string) =>
    log.flatMap((e) => (e.type === 'message' && e.topic === topic ? [e.payload as T] : []));
  const activations = of<{ phase: string; reason?: string; next?: string }>(TOPICS.activation);
  return {
    result,
    sent: server.received.length - before,
    started: activations.filter((a) => a.phase === 'started').length,
    failed: activations.filter((a) => a.phase === 'failed'),
    refused: activations.filter((a) => a.phase === 'refused').map((a) => a.reason),
    breakers: of<{ agentId: string }>(TOPICS.breaker),
    calls: of<{ type: string; ok?: boolean; error?: string }>(TOPICS.model),
  };
}

describe('budgets and limits say what happened', () => {
  it("opens the agent's breaker when its budget refuses every call, instead of looping to the depth limit", async () => {
    const r = await run({ agents: [caller({ strict: false, budget: { tokens: 50 } })], models: models() });
    expect(r.sent).toBe(0);
    expect(r.breakers).toEqual([expect.objectContaining({ agentId: 'caller' })]);
    expect(r.started).toBe(1);
    expect(r.refused).toEqual(['breaker']);
    expect(r.result.outcome).toBe('budget_exceeded');
    expect(r.result.reason).toMatch(/caller/);
    expect(r.result.board.n).toBe(1);
  });

  it('never retries an activation whose model call the budget refused', async () => {
    const r = await run({
      agents: [caller({ strict: true, budget: { tokens: 50 }, when: (b) => b.n === 0 })],
      models: models(),
    });
    expect(r.sent).toBe(0);
    expect(r.calls.filter((c) => c.type === 'refused')).toHaveLength(1);
    expect(r.calls.filter((c) => c.type === 'retry')).toHaveLength(0);
    expect(r.started).toBe(1);
    expect(r.failed.map((f) => f.next)).toEqual(['none']);
    expect(r.breakers).toHaveLength(1);
    expect(r.result.outcome).toBe('budget_exceeded');
  });

  it("ends the run budget_exceeded when the run's budget refuses a call", async () => {
    const r = await run({
      agents: [caller({ strict: true })],
      models: models(),
      limits: { budget: { tokens: 50 } },
    });
    expect(r.sent).toBe(0);
    expect(r.started).toBe(1);
    expect(r.failed.filter((f) => f.next === 'retry')).toEqual([]);
    expect(r.result.outcome).toBe('budget_exceeded');
    expect(r.result.reason).toMatch(/run's budget/);
  });

  it('sends a call that fits, and charges it (the gate refuses only what does not fit)', async () => {
    const r = await run({
      agents: [caller({ strict: true, budget: { tokens: 1000 }, when: (b) => b.n === 0 })],
      models: models(),
    });
    expect(r.sent).toBe(1);
    expect(r.breakers).toEqual([]);
    expect(r.result.outcome).toBe('quiescent');
  });

  it('ends the run at the activation limit with an outcome and a reason of its own', async () => {
    const loop = defineAgent<B>({
      id: 'loop',
      watches: [['n']],
      writes: [['n']],
      machine: stepMachine<B, null>({
        when: () => true,
        work: async () => null,
        done: (d) => {
          d.n += 1;
        },
      }),
    });
    const r = await run({ agents: [loop], limits: { maxActivations: 3, depth: 50 } });
    expect(r.result.outcome).toBe('activation_limit');
    expect(r.result.reason).toMatch(/activation limit \(limits\.maxActivations: 3\)/);
    expect(r.result.reason).not.toMatch(/budget/);
    expect(r.result.activations).toBe(3);
    expect(r.started).toBe(3);
    expect(r.refused).toEqual(['activation_limit']);
  });
});
