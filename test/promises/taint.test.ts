/**
 * Promise 9: taint follows what an activation actually read, not what it watches. Injection payloads come
 * in through a model's output (the fake OpenAI server), a tool's result, and a remote agent's commit (over
 * the hub); a reader that watches only a clean path but reads the payload must not get its irreversible
 * action approved by the `tainted` policy, while a reader of clean paths only must.
 */
import {
  type AgentDefinition,
  createModelClient,
  createRuntime,
  defineAgent,
  keyed,
  openAITransport,
  type Runtime,
  stepMachine,
} from 'hearsay';
import { connect, hostAgents } from 'hearsay/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FakeOpenAI } from '../support/fake-openai.js';
import { INJECTIONS, shaped } from '../support/injections.js';

const Board = z.object({
  go: z.boolean(),
  index: z.number(),
  topic: z.string(),
  note: z.unknown().optional(),
  ticked: z.boolean(),
  done: keyed(z.string()),
});
type B = z.output<typeof Board>;
const initial = { go: false, index: 0, topic: 'release 1.2', ticked: false, done: {} };

let server: FakeOpenAI;
beforeAll(async () => {
  server = await new FakeOpenAI().start();
});
afterAll(() => server.stop());

/** Writes the payload to `note`, fetched how the channel says. */
function writer(
  fetch: (event: Parameters<Parameters<typeof stepMachine<B, unknown>>[0]['work']>[0]) => Promise<unknown>,
) {
  return defineAgent<B>({
    id: 'writer',
    watches: [['go']],
    writes: [['note']],
    machine: stepMachine<B, unknown>({
      when: (b) => b.go && b.note === undefined,
      work: fetch,
      done: (d, note) => {
        d.note = note;
      },
    }),
  });
}

/** Marks that something was written: it is enabled by the change to `note` (it watches it) but reads only `ticked`. */
const ticker = defineAgent<B>({
  id: 'ticker',
  watches: [['note']],
  writes: [['ticked']],
  machine: stepMachine<B, null>({
    // Enabled by the change to `note` (the event says which paths changed), without reading it.
    when: (b, event) => !b.ticked && event.changed.some((p) => p[0] === 'note'),
    work: async () => null,
    done: (d) => {
      d.ticked = true;
    },
  }),
});

/**
 * Asks to run an irreversible action with what it read: `reader` reads the payload in `note` (it does not
 * watch `note`), `control` reads only the clean `topic`.
 */
function asker(id: 'reader' | 'control'): AgentDefinition<B> {
  return defineAgent<B>({
    id,
    watches: [['ticked']],
    writes: [['done']],
    machine: stepMachine<B, string>({
      when: (b) => b.ticked && !b.done.has(id),
      work: async (event) => {
        const text = id === 'reader' ? JSON.stringify(event.board.note) : event.board.topic;
        const decision = await event.tools.requestApproval({ action: 'send', args: { text } });
        return decision.approved ? `approved by ${decision.by}` : 'refused';
      },
      done: (d, output) => void d.done.set(id, output),
    }),
  });
}

const team = (w: AgentDefinition<B>) => [w, ticker, asker('reader'), asker('control')];

async function expectHeld(runtime: Runtime<B>, index: number, payload: unknown) {
  const result = await runtime.run({ go: true, index });
  const where = `payload ${index}: ${JSON.stringify(INJECTIONS[index])}`;
  // The payload reached the board, and the reader read it.
  expect(result.board.note, where).toEqual(payload);
  expect(result.board.done.get('control'), where).toBe('approved by policy');
  expect(result.board.done.has('reader'), where).toBe(false);
  expect(result.outcome, where).toBe('awaiting_approval');
}

describe('the tainted policy approves only activations that read nothing tainted', () => {
  it(`holds for ${INJECTIONS.length} payloads in a model's output`, async () => {
    const runtime = createRuntime({
      board: { schema: Board, initial },
      agents: team(
        writer(async (event) => {
          const r = await event.tools.model({
            messages: [{ role: 'user', content: 'Summarise the ticket.' }],
          });
          if (!r.ok) throw new Error(r.error.message);
          return shaped(r.text, event.board.index);
        }),
      ),
      models: createModelClient({
        transport: openAITransport({ apiKey: 'k', baseURL: server.url }),
        tiers: { large: { models: ['m'] } },
        cache: false,
      }),
      limits: { approvalPolicy: 'tainted' },
    });
    for (const [i, text] of INJECTIONS.entries()) {
      server.reply({ content: text });
      await expectHeld(runtime, i, shaped(text, i));
    }
    await runtime.close();
  });

  it(`holds for ${INJECTIONS.length} payloads in a tool's result`, async () => {
    const fetchTool = {
      name: 'fetch_ticket',
      description: 'Fetches the ticket text.',
      parameters: z.object({ index: z.number() }),
      run: ({ index }: { index: number }) => shaped(INJECTIONS[index]!, index),
    };
    const runtime = createRuntime({
      board: { schema: Board, initial },
      agents: team(
        writer(async (event) => {
          const [run] = await event.tools.runTools(
            [{ id: 'c1', name: 'fetch_ticket', args: { index: event.board.index }, irreversible: false }],
            [fetchTool as never],
          );
          if (!run?.ok) throw new Error('the tool failed');
          return run.result;
        }),
      ),
      limits: { approvalPolicy: 'tainted' },
    });
    for (const i of INJECTIONS.keys()) await expectHeld(runtime, i, shaped(INJECTIONS[i]!, i));
    await runtime.close();
  });

  it(`holds for ${INJECTIONS.length} payloads committed by a remote agent over the hub`, async () => {
    const token = 'remote-writer-token-0123456789';
    const runtime = createRuntime({
      board: { schema: Board, initial },
      agents: team(writer(async () => null)),
      remote: ['writer'],
      limits: { approvalPolicy: 'tainted' },
    });
    const hub = await runtime.listen({ tokens: { [token]: ['agent:writer'] }, log: () => {} });
    const client = await connect(hub.url, { token, name: 'remote-writer' });
    // The remote process's own writer: it makes the payload up itself (nothing local called a model).
    const hosted = await hostAgents({
      client,
      schema: Board,
      agents: [writer(async (event) => shaped(INJECTIONS[event.board.index]!, event.board.index))],
    });
    try {
      for (const i of INJECTIONS.keys()) await expectHeld(runtime, i, shaped(INJECTIONS[i]!, i));
    } finally {
      hosted.close();
      client.close();
      await runtime.close();
    }
  });

  it('approves a reader of clean paths even though it watches a tainted one, and a tainted value read in a guard counts', async () => {
    // `watcher` watches `note` (tainted) but reads only `topic`: approved. `guarded` reads `note` only in
    // its guard (never in its work): held.
    const watcher = defineAgent<B>({
      id: 'watcher',
      watches: [['note']],
      writes: [['done']],
      machine: stepMachine<B, string>({
        when: (b) => !b.done.has('watcher'),
        work: async (event) => {
          const d = await event.tools.requestApproval({ action: 'send', args: { t: event.board.topic } });
          return d.approved ? `approved by ${d.by}` : 'refused';
        },
        done: (d, o) => void d.done.set('watcher', o),
      }),
    });
    const guarded = defineAgent<B>({
      id: 'guarded',
      watches: [['ticked']],
      writes: [['done']],
      machine: stepMachine<B, string>({
        when: (b) => b.ticked && b.note !== undefined && !b.done.has('guarded'),
        work: async (event) => {
          const d = await event.tools.requestApproval({ action: 'send', args: {} });
          return d.approved ? `approved by ${d.by}` : 'refused';
        },
        done: (d, o) => void d.done.set('guarded', o),
      }),
    });
    const runtime = createRuntime({
      board: { schema: Board, initial },
      agents: [
        writer(async (event) => {
          await event.tools.runTools([], []);
          return 'from a tool';
        }),
        ticker,
        watcher,
        guarded,
      ],
      limits: { approvalPolicy: 'tainted' },
    });
    const result = await runtime.run({ go: true });
    expect(result.board.done.get('watcher')).toBe('approved by policy');
    expect(result.board.done.has('guarded')).toBe(false);
    expect(result.outcome).toBe('awaiting_approval');
    await runtime.close();
  });

  it('rebuilds taint from the log on resume: a value laundered through an activation that read it stays tainted', async () => {
    // `source` writes model-like text through a tool (tainted); `launderer` reads it in its work and writes
    // a copy to `note` (its commit's recipe reads nothing: only the taint record of its read says `note` is
    // tainted); `reader` reads `note`. Paused for the reader's approval, then resumed from the log.
    const Laundry = Board.extend({ raw: z.string().optional() });
    type L = z.output<typeof Laundry>;
    const source = defineAgent<L>({
      id: 'source',
      watches: [['go']],
      writes: [['raw']],
      machine: stepMachine<L, string>({
        when: (b) => b.go && b.raw === undefined,
        work: async (event) => {
          await event.tools.runTools([], []);
          return INJECTIONS[0]!;
        },
        done: (d, raw) => {
          d.raw = raw;
        },
      }),
    });
    const launderer = defineAgent<L>({
      id: 'launderer',
      watches: [['raw']],
      writes: [['note']],
      machine: stepMachine<L, string>({
        when: (_b, event) => event.changed.some((p) => p[0] === 'raw'),
        work: async (event) => `${event.board.raw}`,
        done: (d, copy) => {
          d.note = copy;
        },
      }),
    });
    const reader = asker('reader') as unknown as AgentDefinition<L>;
    const laundryTicker = ticker as unknown as AgentDefinition<L>;
    const runtime = createRuntime({
      board: { schema: Laundry, initial },
      agents: [source, launderer, laundryTicker, reader],
      limits: { approvalPolicy: 'tainted' },
    });
    const first = await runtime.run({ go: true });
    expect(first.board.note).toBe(INJECTIONS[0]);
    expect(first.outcome).toBe('awaiting_approval');
    expect(first.board.done.has('reader')).toBe(false);
    const resumed = await (await runtime.resume(first.runId)).result;
    expect(resumed.board.done.has('reader')).toBe(false);
    expect(resumed.outcome).toBe('awaiting_approval');
    await runtime.close();
  });
});
