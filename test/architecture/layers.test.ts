/**
 * The layering of src/ (which part may import which, and no import cycles), as .dependency-cruiser.cjs
 * writes it, checked with dependency-cruiser over the real sources, type-only imports included. The same
 * rules are first run over a small tree that breaks them, so a configuration that checks nothing fails here.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const depcruise = join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

interface Violation {
  readonly from: string;
  readonly to: string;
  readonly rule: { readonly name: string };
  readonly cycle?: readonly { readonly name: string }[];
}

/** The rules' violations over `dir`'s src/ (dependency-cruiser exits non-zero when there are any). */
async function violations(cwd: string): Promise<Violation[]> {
  const out = await promisify(execFile)(
    process.execPath,
    [depcruise, 'src', '--config', join(root, '.dependency-cruiser.cjs'), '--output-type', 'json'],
    { cwd, maxBuffer: 64 * 1024 * 1024 },
  ).catch((e: { stdout?: string; stderr?: string }) => {
    if (!e.stdout) throw new Error(`dependency-cruiser failed: ${e.stderr}`);
    return { stdout: e.stdout };
  });
  const result = JSON.parse(out.stdout) as { summary: { violations: Violation[]; totalCruised: number } };
  expect(result.summary.totalCruised).toBeGreaterThan(0);
  return result.summary.violations;
}

const scratch = mkdtempSync(join(tmpdir(), 'hearsay-layers-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the layering of src/', () => {
  it('is broken by a tree that imports up and in a circle (the rules check something)', async () => {
    const file = (path: string, text: string) => {
      mkdirSync(dirname(join(scratch, path)), { recursive: true });
      writeFileSync(join(scratch, path), text);
    };
    cpSync(join(root, 'tsconfig.json'), join(scratch, 'tsconfig.json'));
    // blackboard imports the scheduler (up); hub imports the runtime; two scheduler files import each other
    // with type-only imports; the inspector page imports the scheduler; a part imports the public index.
    file(
      'src/blackboard/board.ts',
      "import { plan } from '../scheduler/plan.js';\nexport const board = plan;\n",
    );
    file(
      'src/scheduler/plan.ts',
      "import type { Limits } from './limits.js';\nexport const plan = (l?: Limits) => l;\n",
    );
    file(
      'src/scheduler/limits.ts',
      "import type { plan } from './plan.js';\nexport type Limits = typeof plan;\n",
    );
    file('src/hub/hub.ts', "import { run } from '../runtime/run.js';\nexport const hub = run;\n");
    file('src/runtime/run.ts', "import { hearsay } from '../index.js';\nexport const run = hearsay;\n");
    file(
      'src/inspector/app/page.ts',
      "import { plan } from '../../scheduler/plan.js';\nexport const page = plan;\n",
    );
    file('src/index.ts', 'export const hearsay = 1;\n');
    const found = (await violations(scratch)).map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
    expect(found).toEqual(
      expect.arrayContaining([
        'blackboard-imports-only-nothing: src/blackboard/board.ts → src/scheduler/plan.ts',
        'hub-imports-only-blackboard-protocol: src/hub/hub.ts → src/runtime/run.ts',
        'inspector-page-speaks-only-the-protocol: src/inspector/app/page.ts → src/scheduler/plan.ts',
        'entries-are-leaves: src/runtime/run.ts → src/index.ts',
      ]),
    );
    // The cycle is reported once, from whichever of its two files the cruise reached first.
    expect(found.filter((f) => /^no-cycles: src\/scheduler\/(plan|limits)\.ts → /.test(f))).toHaveLength(1);
  });

  it('holds: every part imports only the parts below it, and no file is in an import cycle', async () => {
    const found = (await violations(root)).map(
      (v) =>
        `${v.rule.name}: ${v.from} → ${v.to}${v.cycle ? ` (cycle: ${v.cycle.map((c) => c.name).join(' → ')})` : ''}`,
    );
    expect(found).toEqual([]);
  });
});
