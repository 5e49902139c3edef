/**
 * Two copies of the package in one process (npm link, two versions in one tree): each copy recognises the
 * other's values. Two physical copies of the built package are installed in a temporary directory
 * (`a/node_modules/hearsay`, `b/node_modules/hearsay`, sharing the repository's dependencies the way a
 * deduplicated tree does) and loaded through their `exports`; a team built with one copy runs on the other's
 * runtime, and the run is the same, event for event, as the run of one copy alone.
 *
 * Needs `npm run build` (the copies are copies of dist/).
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type CopyBoard, copyTeam } from '../support/copy-team.js';

type Root = typeof import('hearsay');
type Testing = typeof import('hearsay/testing');
type HubEntry = typeof import('hearsay/hub');
type ClientEntry = typeof import('hearsay/client');

/** One installed copy of the package, as its three entries. */
interface Copy {
  readonly name: string;
  readonly dir: string;
  readonly root: Root;
  readonly testing: Testing;
  readonly hub: HubEntry;
  readonly client: ClientEntry;
}

const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
  exports: Record<string, { import: string }>;
};
let tmp: string;
let A: Copy;
let B: Copy;

/** Installs a copy of the built package at `<tmp>/<name>/node_modules/hearsay` and loads its entries. */
async function install(name: string): Promise<Copy> {
  const dir = join(tmp, name, 'node_modules', 'hearsay');
  mkdirSync(join(dir, 'dist'), { recursive: true });
  cpSync(join(repo, 'package.json'), join(dir, 'package.json'));
  cpSync(join(repo, 'dist', 'src'), join(dir, 'dist', 'src'), { recursive: true });
  // Its dependencies (xstate, immer, zod, ws, openai) are the repository's: one deduplicated tree.
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const entry = async (sub: string) => {
    const target = pkg.exports[sub]?.import;
    if (!target) throw new Error(`package.json exports no "${sub}"`);
    return import(pathToFileURL(join(dir, target)).href);
  };
  return {
    name,
    dir,
    root: (await entry('.')) as Root,
    testing: (await entry('./testing')) as Testing,
    hub: (await entry('./hub')) as HubEntry,
    client: (await entry('./client')) as ClientEntry,
  };
}

beforeAll(async () => {
  expect(existsSync(join(repo, 'dist/src/index.js')), 'the package is built (npm run build)').toBe(true);
  tmp = mkdtempSync(join(tmpdir(), 'hearsay-two-copies-'));
  A = await install('a');
  B = await install('b');
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

type Board = CopyBoard;

/**
 * A team of three built with `def` (see test/support/copy-team.ts), whose worker asks the model for each
 * task. Its store, clock and transport (a 429 before each first answer, thrown as `def`'s TransportError)
 * come from `def` too; only `createRuntime` and `createModelClient` come from `run`.
 */
function team(def: Copy, run: Copy, store: 'memory' | 'file', storeDir: string) {
  const { Keyed } = def.root;
  const { schema, agents } = copyTeam(def.root, z, {
    work: async (event, key) => {
      const answer = await event.tools.model({ messages: [{ role: 'user', content: `do ${key}` }] });
      if (!answer.ok) throw new Error(`${answer.error.code}: ${answer.error.message}`);
      return answer.value;
    },
    report: (tasks) => [...tasks.values()].map((t) => t.result).join('; '),
  });
  const clock = new def.testing.VirtualClock();
  const simulated = def.testing.simulatedTransport({
    latencyMs: 5,
    sleep: (ms, signal) => clock.sleep(ms, signal),
    respond: (req) => ({ text: `${String(req.messages.at(-1)?.content)}: done` }),
  });
  const refused = new Set<string>();
  let rateLimited = 0;
  const transport = {
    name: 'flaky',
    send: async (
      req: Parameters<typeof simulated.send>[0],
      options: Parameters<typeof simulated.send>[1],
    ) => {
      const prompt = String(req.messages.at(-1)?.content);
      if (!refused.has(prompt)) {
        refused.add(prompt);
        rateLimited += 1;
        throw new def.root.TransportError({ kind: 'rate_limited', message: '429', retryAfterMs: 50 });
      }
      return simulated.send(req, options);
    },
  };
  const theStore =
    store === 'memory' ? new def.root.MemoryStore() : new def.root.FileStore({ dir: storeDir });
  const runtime = run.root.createRuntime({
    board: { schema, initial: { goal: '', tasks: Keyed.empty() } },
    agents,
    goal: (b: Board) => b.report !== undefined,
    store: theStore,
    clock,
    deterministic: { seed: 7 },
    models: run.root.createModelClient({
      transport,
      tiers: { large: { models: ['m'] } },
      clock,
      cache: false,
    }),
  });
  return { runtime, store: theStore, rateLimited: () => rateLimited };
}

/**
 * The run's result. A run whose virtual clock nobody drives never ends (its timers never fire): one still
 * going after 20 s of real time is cancelled, so the test fails on its outcome instead of timing out.
 */
async function ended<T extends { outcome: string }>(handle: {
  result: Promise<T>;
  cancel(reason?: string): void;
}): Promise<T> {
  const watchdog = setTimeout(() => handle.cancel('stuck: the run did not end'), 20_000);
  try {
    return await handle.result;
  } finally {
    clearTimeout(watchdog);
  }
}

/**
 * A run's log, as JSON, without its timestamps: a deterministic run's virtual clock moves when the process
 * has nothing else to do, and a file store's writes leave it idle at moments that vary from run to run.
 */
const logOf = async (store: { read(runId: string, from: number): Promise<unknown[]> }, runId: string) =>
  JSON.stringify(await store.read(runId, 0), (key, value) => (key === 'time' ? undefined : value));

describe('two copies of the package in one process', () => {
  it('are two copies (each class is its own)', () => {
    expect(A.root.Keyed).not.toBe(B.root.Keyed);
    expect(A.root.createRuntime).not.toBe(B.root.createRuntime);
    expect(A.testing.VirtualClock).not.toBe(B.testing.VirtualClock);
  });

  for (const [defName, runName, store] of [
    ['a', 'b', 'memory'],
    ['b', 'a', 'file'],
  ] as const) {
    it(`a team built with copy ${defName} (Keyed board, statusPool, ${store} store, virtual clock, TransportError) runs on copy ${runName}'s runtime as on its own`, async () => {
      const def = defName === 'a' ? A : B;
      const run = runName === 'a' ? A : B;
      const results = [];
      for (const runner of [def, run]) {
        const storeDir = join(tmp, `${defName}-${runner.name}-${store}`);
        const t = team(def, runner, store, storeDir);
        const result = await ended(await t.runtime.start({ goal: 'ship it' }, { runId: 'r1' }));
        const log = await logOf(t.store, result.runId);
        await t.runtime.close();
        results.push({ result, log, rateLimited: t.rateLimited() });
      }
      const [own, cross] = results as [(typeof results)[0], (typeof results)[0]];
      expect(cross.result.outcome, cross.result.reason).toBe('completed');
      const board = cross.result.board as Board;
      expect(board.tasks).toBeInstanceOf(def.root.Keyed);
      expect(board.tasks).toBeInstanceOf(run.root.Keyed);
      expect(Object.fromEntries([...board.tasks].map(([k, t]) => [k, [t.status, t.result]]))).toEqual({
        design: ['done', 'do design: done'],
        build: ['done', 'do build: done'],
        test: ['done', 'do test: done'],
      });
      expect(board.report?.split('; ').sort()).toEqual([
        'do build: done',
        'do design: done',
        'do test: done',
      ]);
      // Every first call was refused with a 429 and retried (not failed as an unknown error).
      expect(cross.rateLimited).toBe(3);
      // The same run, event for event, as on the team's own copy (a store is durable or not, a clock
      // virtual or not, whichever copy made it).
      expect(own.result.outcome).toBe('completed');
      expect(cross.log).toBe(own.log);
    });
  }

  it("recognise each other's errors, stores and clocks (instanceof holds both ways)", () => {
    for (const [one, other] of [
      [A, B],
      [B, A],
    ] as const) {
      const made = [
        [new one.root.BlackboardError('closed', 'closed'), other.root.BlackboardError],
        [
          new one.root.TransportError({ kind: 'server', status: 503, message: 'down' }),
          other.root.TransportError,
        ],
        [new one.hub.HubRefusal('forbidden', 'no'), other.hub.HubRefusal],
        [new one.client.HubError('unauthorized', 'no'), other.client.HubError],
        [new one.root.MemoryStore(), other.root.MemoryStore],
        [new one.root.FileStore({ dir: join(tmp, 'unused') }), other.root.FileStore],
        [new one.root.FileStore({ dir: join(tmp, 'unused') }), other.root.MemoryStore],
        [new one.testing.VirtualClock(), other.testing.VirtualClock],
        [one.root.Keyed.from({ k: 1 }), other.root.Keyed],
      ] as const;
      for (const [value, cls] of made)
        expect(value instanceof cls, `${cls.name} of the other copy`).toBe(true);
      // A brand is not a wildcard: a MemoryStore is no FileStore, an error of one kind no other kind.
      expect(new one.root.MemoryStore() instanceof other.root.FileStore).toBe(false);
      expect(
        new one.root.TransportError({ kind: 'server', status: 503, message: 'down' }) instanceof
          other.root.BlackboardError,
      ).toBe(false);
      for (const cls of [other.root.BlackboardError, other.root.MemoryStore, other.testing.VirtualClock])
        for (const lookalike of [
          {},
          new Error('x'),
          JSON.parse('{"code":"closed"}'),
          null,
          'BlackboardError',
        ])
          expect(lookalike instanceof cls).toBe(false);
    }
  });

  it("keeps the ordinary instanceof for a user's subclass of a branded class", () => {
    class AuditedStore extends A.root.MemoryStore {}
    expect(new AuditedStore() instanceof B.root.MemoryStore).toBe(true);
    expect(new AuditedStore() instanceof AuditedStore).toBe(true);
    expect(new B.root.MemoryStore() instanceof AuditedStore).toBe(false);
    expect(new A.root.MemoryStore() instanceof AuditedStore).toBe(false);
  });
});
