/**
 * Taint follows what an activation read, through the two carriers that are not the board itself: the
 * changed paths of its board event (their keys were chosen by whoever wrote them), and a singleton's
 * actor (its context and state outlive the activation that read tainted data). Under the `tainted`
 * approval policy an activation that got injected text through either must wait for a human; one that
 * did not is still approved by the policy.
 */
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ActivationTools,
  type AgentDefinition,
  agentActions,
  type BoardEvent,
  createRuntime,
  defineAgent,
  FileStore,
  keyed,
  stepMachine,
} from 'hearsay';
import { afterAll, describe, expect, it } from 'vitest';
import { assign, fromPromise, setup } from 'xstate';
import { z } from 'zod';
import { INJECTIONS } from '../support/injections.js';

const Board = z.object({
  go: z.boolean(),
  index: z.number(),
  trusted: z.boolean(),
  note: z.string().optional(),
  notes: keyed(z.string()),
  record: z.record(z.string(), z.string()),
  ticked: z.boolean(),
  phase2: z.boolean(),
  done: keyed(z.string()),
});
type B = z.output<typeof Board>;
const initial = {
  go: false,
  index: 0,
  trusted: false,
  notes: {},
  record: {},
  ticked: false,
  phase2: false,
  done: {},
};

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true, maxRetries: 5 })));
});

/** The text of every file under `dir`. */
async function filesOf(dir: string): Promise<string[]> {
  const names = await readdir(dir, { recursive: true, withFileTypes: true });
  return Promise.all(
    names.filter((n) => n.isFile()).map((n) => readFile(join(n.parentPath, n.name), 'utf8')),
  );
}

/**
 * Writes the payload as a key: into the keyed `notes` and the plain record `record`, and as the value of
 * `note`. Tainted (it got the payload from a tool) unless the run's input says `trusted`.
 */
const writer = defineAgent<B>({
  id: 'writer',
  watches: [['go']],
  writes: [['note'], ['notes'], ['record']],
  machine: stepMachine<B, string>({
    when: (b) => b.go && b.note === undefined,
    work: async (event) => {
      if (!event.board.trusted) await event.tools.runTools([], []);
      return INJECTIONS[event.board.index]!;
    },
    done: (d, text) => {
      d.note = text;
      d.notes.set(text, 'x');
      d.record[text] = 'x';
    },
  }),
});

/** Answers approval requests: records the outcome under `done.<id>`. */
const asked = (d: { approved: boolean; by?: string }) => (d.approved ? `approved by ${d.by}` : 'refused');

/** Enabled by the change to `notes`; reads only `event.changed` (with `readsChanged`) and asks to send it. */
function changedReader(id: string, readsChanged: boolean): AgentDefinition<B> {
  return defineAgent<B>({
    id,
    watches: [['notes']],
    writes: [['done']],
    machine: stepMachine<B, string>({
      // `size` reads no entry (and no key).
      when: (b) => b.notes.size > 0 && !b.done.has(id),
      work: async (event) => {
        const text = readsChanged ? JSON.stringify(event.changed) : 'a fixed text';
        return asked(await event.tools.requestApproval({ action: 'send', args: { text } }));
      },
      done: (d, o) => void d.done.set(id, o),
    }),
  });
}

/** Reads `event.changed` in its guard only (the record's key), then asks with a fixed text. */
const changedGuard = defineAgent<B>({
  id: 'changedGuard',
  watches: [['record']],
  writes: [['done']],
  machine: stepMachine<B, string>({
    when: (b, event) => !b.done.has('changedGuard') && event.changed.some((p) => p[0] === 'record'),
    work: async (event) => asked(await event.tools.requestApproval({ action: 'send', args: {} })),
    done: (d, o) => void d.done.set('changedGuard', o),
  }),
});

describe('reading event.changed reads the keys a writer chose', () => {
  it(`holds an activation that read changed keys a tainted writer chose, for ${INJECTIONS.length} payloads`, async () => {
    const runtime = createRuntime({
      board: { schema: Board, initial },
      agents: [writer, changedReader('reads', true), changedReader('ignores', false), changedGuard],
      limits: { approvalPolicy: 'tainted' },
    });
    for (const [index, payload] of INJECTIONS.entries()) {
      const where = `payload ${index}: ${JSON.stringify(payload)}`;
      const result = await runtime.run({ go: true, index });
      expect(result.board.notes.has(payload), where).toBe(true);
      // It read the key text through `changed`: it waits for a human.
      expect(result.board.done.has('reads'), where).toBe(false);
      expect(result.board.done.has('changedGuard'), where).toBe(false);
      // Enabled by the same commit, it never read `changed` nor anything tainted: approved.
      expect(result.board.done.get('ignores'), where).toBe('approved by policy');
      expect(result.outcome, where).toBe('awaiting_approval');
    }
    await runtime.close();
  });

  it('approves a reader of changed keys an untainted writer chose', async () => {
    // (A changed path that is a field of the schema, `['note']` alone, names nothing a writer chose: the
    // ticker of taint.test.ts reads it and stays untainted.)
    const noteWatcher = defineAgent<B>({
      id: 'noteWatcher',
      watches: [['note']],
      writes: [['done']],
      machine: stepMachine<B, string>({
        when: (b, event) => !b.done.has('noteWatcher') && event.changed.some((p) => p[0] === 'note'),
        work: async (event) =>
          asked(await event.tools.requestApproval({ action: 'send', args: { c: event.changed } })),
        done: (d, o) => void d.done.set('noteWatcher', o),
      }),
    });
    const runtime = createRuntime({
      board: { schema: Board, initial },
      agents: [writer, changedReader('reads', true), noteWatcher],
      limits: { approvalPolicy: 'tainted' },
    });
    const trusted = await runtime.run({ go: true, trusted: true, index: 3 });
    expect(trusted.board.done.get('reads')).toBe('approved by policy');
    expect(trusted.board.done.get('noteWatcher')).toBe('approved by policy');
    const tainted = await runtime.run({ go: true, index: 3 });
    expect(tainted.board.done.has('reads')).toBe(false);
    // The same commit wrote the keys: its `changed` lists them too.
    expect(tainted.board.done.has('noteWatcher')).toBe(false);
    await runtime.close();
  });
});

const { commit } = agentActions<B>();

/**
 * A singleton that reads the tainted `note` when `ticked` (activation 1), keeps it in its context, and
 * when `phase2` is set by an untainted commit (activation 2) asks to send what it kept.
 */
const carrier = defineAgent<B>({
  id: 'carrier',
  watches: [['ticked'], ['phase2']],
  writes: [['done']],
  machine: setup({
    types: {} as { context: { stash: string }; events: BoardEvent<B> },
    actors: {
      ask: fromPromise<string, { text: string; tools: ActivationTools }>(async ({ input }) =>
        asked(await input.tools.requestApproval({ action: 'send', args: { text: input.text } })),
      ),
    },
  }).createMachine({
    context: { stash: '' },
    initial: 'idle',
    states: {
      idle: {
        on: {
          board: {
            guard: ({ event }) => event.board.ticked,
            target: 'stashed',
            actions: [
              assign({ stash: ({ event }) => String(event.board.note) }),
              commit(() => (d) => void d.done.set('carrier:stashed', 'y')),
            ],
          },
        },
      },
      stashed: { on: { board: { guard: ({ event }) => event.board.phase2, target: 'asking' } } },
      asking: {
        invoke: {
          src: 'ask',
          input: ({ context, event }) => ({ text: context.stash, tools: event.tools }),
          onDone: {
            target: 'end',
            actions: commit(
              ({ event }) =>
                (d) =>
                  void d.done.set('carrier', String((event as { output: unknown }).output)),
            ),
          },
        },
      },
      end: {},
    },
  }) as never,
});

/** Sets `ticked` once `note` is written, without reading it (`note` is a field: its path names no key). */
const ticker = defineAgent<B>({
  id: 'ticker',
  watches: [['note']],
  writes: [['ticked']],
  machine: stepMachine<B, null>({
    when: (b, event) => !b.ticked && event.changed.some((p) => p[0] === 'note'),
    work: async () => null,
    done: (d) => {
      d.ticked = true;
    },
  }),
});

/** Sets `phase2` once the carrier has stashed, reading nothing tainted (`has` on a key it names). */
const bumper = defineAgent<B>({
  id: 'bumper',
  watches: [['done']],
  writes: [['phase2']],
  machine: stepMachine<B, null>({
    when: (b) => !b.phase2 && b.done.has('carrier:stashed'),
    work: async () => null,
    done: (d) => {
      d.phase2 = true;
    },
  }),
});

describe("a singleton's actor carries taint from one activation to the next", () => {
  it(`holds a later activation that sends what an earlier one read, for ${INJECTIONS.length} payloads`, async () => {
    const runtime = createRuntime({
      board: { schema: Board, initial },
      agents: [writer, ticker, carrier, bumper],
      limits: { approvalPolicy: 'tainted' },
    });
    for (const [index, payload] of INJECTIONS.entries()) {
      const where = `payload ${index}: ${JSON.stringify(payload)}`;
      const result = await runtime.run({ go: true, index });
      expect(result.board.done.get('carrier:stashed'), where).toBe('y');
      expect(result.board.phase2, where).toBe(true);
      expect(result.board.done.has('carrier'), where).toBe(false);
      const pending = await runtime.pendingApprovals(result.runId);
      expect(
        pending.map((p) => [p.agentId, (p.args as { text: string }).text]),
        where,
      ).toEqual([['carrier', payload]]);
    }
    await runtime.close();
  });

  it('approves the same singleton when what it kept was clean', async () => {
    const runtime = createRuntime({
      board: { schema: Board, initial },
      agents: [writer, ticker, carrier, bumper],
      limits: { approvalPolicy: 'tainted' },
    });
    const result = await runtime.run({ go: true, trusted: true, index: 0 });
    expect(result.board.done.get('carrier')).toBe('approved by policy');
    await runtime.close();
  });

  it('rebuilds which agents carry taint from the log: a new activation after a restart is held', async () => {
    // The first process stops (its log copied as it stood: a crash) while `bumper` is between its start
    // and its commit, with the carrier between its activations. A second process resumes the copy: the
    // bumper commits `phase2` (reading nothing tainted), and the carrier's next activation, new in this
    // process, asks to send what its actor kept from before the crash.
    let release: () => void = () => {};
    const blocked = new Promise<void>((resolve) => {
      release = resolve;
    });
    let crashed = false;
    const slowBumper = defineAgent<B>({
      id: 'bumper',
      watches: [['done']],
      writes: [['phase2']],
      machine: stepMachine<B, null>({
        when: (b) => !b.phase2 && b.done.has('carrier:stashed'),
        work: async () => {
          if (!crashed) await blocked;
          return null;
        },
        done: (d) => {
          d.phase2 = true;
        },
      }),
    });
    const dir = await mkdtemp(join(tmpdir(), 'hearsay-taint-carriers-'));
    const copy = await mkdtemp(join(tmpdir(), 'hearsay-taint-carriers-copy-'));
    dirs.push(dir, copy);
    const runtimeOn = (at: string) =>
      createRuntime({
        board: { schema: Board, initial },
        agents: [writer, ticker, carrier, slowBumper],
        limits: { approvalPolicy: 'tainted' },
        store: new FileStore({ dir: at }),
      });
    const first = runtimeOn(dir);
    const handle = await first.start({ go: true, index: 1 }, { runId: 'carry' });
    // The store appends in order: once the bumper's start is in the files, all before it is too.
    while (
      !(await filesOf(dir)).some((text) =>
        /"phase":"started"[^\n]*"agentId":"bumper"|"agentId":"bumper"[^\n]*"phase":"started"/.test(text),
      )
    )
      await new Promise((resolve) => setImmediate(resolve));
    await cp(dir, copy, { recursive: true });
    crashed = true;
    release();
    const finished = await handle.result;
    expect(finished.board.done.has('carrier')).toBe(false);
    await first.close();

    const second = runtimeOn(copy);
    const resumed = await (await second.resume('carry')).result;
    expect(resumed.board.phase2).toBe(true);
    expect(resumed.board.done.get('carrier:stashed')).toBe('y');
    expect(resumed.board.done.has('carrier')).toBe(false);
    expect(resumed.outcome).toBe('awaiting_approval');
    const pending = await second.pendingApprovals('carry');
    expect(pending.map((p) => [p.agentId, (p.args as { text: string }).text])).toEqual([
      ['carrier', INJECTIONS[1]],
    ]);
    await second.close();
  });
});
