/**
 * Two copies of the package that do not share their dependencies (two versions in one tree: each copy
 * with its own xstate, immer and zod under its own node_modules). A team declared with copy A (its
 * defineAgent, stepMachine, itemMachine, statusPool, keyed, Keyed, and a board schema built with A's own
 * zod; machines built by A's xstate; Keyed collections drafted by A's immer) runs on copy B's runtime (B's
 * xstate actors, B's immer, B's zod) to completion, with every pooled item done. The sibling of
 * test/package/two-copies.test.ts, whose copies share one node_modules.
 *
 * Needs `npm run build` (the copies are copies of dist/).
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CopyBoard, copyTeam } from '../support/copy-team.js';

type Root = typeof import('hearsay');
type Zod = typeof import('zod');

const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
  exports: Record<string, { import: string }>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};
let tmp: string;

/** A copy of the built package; with `own`, its dependencies are copies of its own, else links to the repository's. */
async function install(name: string, own: boolean): Promise<{ root: Root; z: Zod['z']; dir: string }> {
  const dir = join(tmp, name, 'node_modules', 'hearsay');
  mkdirSync(join(dir, 'dist'), { recursive: true });
  cpSync(join(repo, 'package.json'), join(dir, 'package.json'));
  cpSync(join(repo, 'dist', 'src'), join(dir, 'dist', 'src'), { recursive: true });
  if (own) {
    for (const dep of [...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies)])
      if (existsSync(join(repo, 'node_modules', dep)))
        cpSync(join(repo, 'node_modules', dep), join(dir, 'node_modules', dep), {
          recursive: true,
          dereference: true,
        });
  } else symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const root = (await import(pathToFileURL(join(dir, pkg.exports['.']!.import)).href)) as Root;
  const zodAt = own ? join(dir, 'node_modules', 'zod') : join(repo, 'node_modules', 'zod');
  const z = ((await import(pathToFileURL(join(zodAt, 'index.js')).href)) as Zod).z;
  return { root, z, dir };
}

let A: Awaited<ReturnType<typeof install>>;
let B: Awaited<ReturnType<typeof install>>;

beforeAll(async () => {
  expect(existsSync(join(repo, 'dist/src/index.js')), 'the package is built (npm run build)').toBe(true);
  tmp = mkdtempSync(join(tmpdir(), 'hearsay-own-deps-'));
  A = await install('a', true);
  B = await install('b', false);
}, 120_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

type Board = CopyBoard;

describe('two copies of the package, each with its own dependencies', () => {
  it('are distinct down to their dependencies', () => {
    expect(A.root.Keyed).not.toBe(B.root.Keyed);
    expect(A.z).not.toBe(B.z);
  });

  it("runs a team declared with copy A (A's xstate, immer and zod) on copy B's runtime", async () => {
    const { Keyed } = A.root;
    const { schema, agents } = copyTeam(A.root, A.z, {
      work: async (_event, key) => `${key}: done`,
      report: (tasks) => [...tasks.keys()].sort().join(', '),
    });
    const runtime = B.root.createRuntime({
      board: { schema, initial: { goal: '', tasks: Keyed.empty() } },
      agents,
      goal: (b: Board) => b.report !== undefined,
      store: new A.root.MemoryStore(),
    });
    try {
      const result = await runtime.run({ goal: 'ship it' });
      expect(result.outcome, result.reason).toBe('completed');
      const board = result.board as Board;
      expect(board.tasks).toBeInstanceOf(A.root.Keyed);
      expect(board.tasks).toBeInstanceOf(B.root.Keyed);
      expect(Object.fromEntries([...board.tasks].map(([k, t]) => [k, t.status]))).toEqual({
        design: 'done',
        build: 'done',
        test: 'done',
      });
      expect(board.report).toBe('build, design, test');
      // The input that does not fit A's zod schema is refused by B's board, as by A's.
      const refused = await runtime.start({ goal: 5 } as never).then(
        () => 'started',
        (e: Error) => e.message,
      );
      expect(refused).toMatch(/goal/);
    } finally {
      await runtime.close();
    }
  }, 60_000);
});
