/**
 * Every TypeScript block of the README and the docs compiles, as a user's project would compile it, against
 * the BUILT package (`npm run build` first): the blocks are written as modules into a temporary project whose
 * `node_modules/hearsay` is a copy of the package's manifest and built declarations (its `exports` point at
 * dist/), beside what a user installs with it (see USER_INSTALLS), and one program
 * type-checks them all with the TypeScript compiler API. A diagnostic names the page and the line.
 *
 * Conventions, written as an HTML comment on the line before a block's fence (blank lines allowed between):
 * - `<!-- compile: continues -->`: the block goes on from the page's previous compiled block (the two are
 *   one module, so it may use what that block declared);
 * - `<!-- compile: skip (reason) -->`: the block is not compiled (keep these rare; the reason is required).
 * Every other block must be a complete module: its own imports, and every name it uses declared.
 */
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** A block as it stands on its page. */
interface DocBlock {
  readonly page: string;
  /** 1-based line of the block's first code line on the page. */
  readonly line: number;
  readonly code: string;
  readonly mode: 'own' | 'continues' | 'skip';
  readonly skipReason?: string;
}

/** The TypeScript blocks of a page (```ts and ```typescript, indented ones in lists included). */
function extractBlocks(page: string, text: string): DocBlock[] {
  const lines = text.split('\n');
  const out: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const lang = open[2]!;
    let end = i + 1;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end]!)) end++;
    if (lang === 'ts' || lang === 'typescript') {
      const code = lines
        .slice(i + 1, end)
        .map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length)))
        .join('\n');
      let before = i - 1;
      while (before >= 0 && lines[before]!.trim() === '') before--;
      const marker =
        before >= 0 ? /^\s*<!--\s*compile:\s*(\w+)\s*(?:\((.*)\))?\s*-->\s*$/.exec(lines[before]!) : null;
      let mode: DocBlock['mode'] = 'own';
      let skipReason: string | undefined;
      if (marker) {
        if (marker[1] === 'continues') mode = 'continues';
        else if (marker[1] === 'skip' && marker[2]?.trim()) {
          mode = 'skip';
          skipReason = marker[2].trim();
        } else throw new Error(`${page}:${before + 1}: unknown compile marker "${lines[before]!.trim()}"`);
      }
      out.push({ page, line: i + 2, code, mode, ...(skipReason ? { skipReason } : {}) });
    }
    i = end;
  }
  return out;
}

/** A module of the temporary project, and where each of its lines comes from. */
interface BlockModule {
  readonly file: string;
  readonly text: string;
  /** Module line (0-based) → page and page line (1-based). */
  readonly origin: ReadonlyArray<{ readonly page: string; readonly line: number }>;
}

/** One module per block; a `continues` block is appended to its page's previous module. */
function toModules(blocks: readonly DocBlock[]): BlockModule[] {
  const modules: Array<{ file: string; parts: DocBlock[] }> = [];
  const lastOfPage = new Map<string, { file: string; parts: DocBlock[] }>();
  for (const b of blocks) {
    if (b.mode === 'skip') continue;
    if (b.mode === 'continues') {
      const previous = lastOfPage.get(b.page);
      if (!previous)
        throw new Error(`${b.page}:${b.line}: "compile: continues" with no block before it on the page`);
      previous.parts.push(b);
      continue;
    }
    const slug = b.page.replace(/[^\w]+/g, '_');
    const m = { file: `${slug}_L${b.line}.ts`, parts: [b] };
    modules.push(m);
    lastOfPage.set(b.page, m);
  }
  return modules.map(({ file, parts }) => {
    const text: string[] = [];
    const origin: Array<{ page: string; line: number }> = [];
    for (const p of parts) {
      p.code.split('\n').forEach((l, k) => {
        text.push(l);
        origin.push({ page: p.page, line: p.line + k });
      });
    }
    // Every block is a module of its own (its names do not collide with other blocks').
    text.push('export {};');
    origin.push({ page: parts[0]!.page, line: parts.at(-1)!.line });
    return { file, text: text.join('\n'), origin };
  });
}

/**
 * A user's tsconfig: ESM on Node (NodeNext), strict. `skipLibCheck: false`, so the package's own
 * declaration files are checked too, as a project that does not skip them checks them. Unused names are
 * fine in a snippet (`noUnusedLocals: false`).
 */
const USER_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    lib: ['ES2023'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    types: ['node'],
    strict: true,
    skipLibCheck: false,
    noUnusedLocals: false,
    noUnusedParameters: false,
    noEmit: true,
  },
  include: ['*.ts'],
};

const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};

/**
 * The packages a user's project has: the package's dependencies and peers (what `npm install hearsay pg
 * @types/pg` brings: `zod`, `xstate` and `@types/ws`, which the hub's declarations name, among them) and
 * `@types/node`. Nothing else: a declaration that names a type no installed package ships fails here with
 * `skipLibCheck: false`, as it would in a strict user's project.
 */
const USER_INSTALLS = [
  ...Object.keys(manifest.dependencies ?? {}),
  ...Object.keys(manifest.peerDependencies ?? {}),
  '@types/node',
];

/** Writes the modules into a fresh project under the OS's temporary folder and type-checks them together. */
function typeCheck(modules: readonly BlockModule[]): { dir: string; problems: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'hearsay-doc-blocks-'));
  const nm = join(dir, 'node_modules');
  mkdirSync(nm);
  // The package as an installed copy: its package.json (whose `exports` point at dist/) and its built
  // declarations, so what they import resolves from the user's node_modules, not from this repository's.
  const installed = join(nm, 'hearsay');
  mkdirSync(installed);
  copyFileSync(join(root, 'package.json'), join(installed, 'package.json'));
  cpSync(join(root, 'dist/src'), join(installed, 'dist/src'), {
    recursive: true,
    filter: (from) => !from.endsWith('.js') && !from.endsWith('.map'),
  });
  // What a user's project has installed beside it (linked from this repository's node_modules).
  for (const name of USER_INSTALLS) {
    const target = join(root, 'node_modules', name);
    expect(existsSync(target), `${name} is installed in this repository`).toBe(true);
    mkdirSync(dirname(join(nm, name)), { recursive: true });
    symlinkSync(target, join(nm, name), 'dir');
  }
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'docs-user', type: 'module', private: true }),
  );
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(USER_TSCONFIG, null, 2));
  for (const m of modules) writeFileSync(join(dir, m.file), m.text);

  const parsed = ts.parseJsonConfigFileContent(USER_TSCONFIG, ts.sys, dir);
  expect(parsed.errors).toEqual([]);
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
  const byFile = new Map(modules.map((m) => [join(dir, m.file), m]));
  const problems: string[] = [];
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || d.start === undefined) {
      problems.push(`(global) TS${d.code}: ${message}`);
      continue;
    }
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    const m = byFile.get(d.file.fileName);
    if (!m) {
      problems.push(`${d.file.fileName}:${line + 1}:${character + 1} TS${d.code}: ${message}`);
      continue;
    }
    const o = m.origin[Math.min(line, m.origin.length - 1)]!;
    problems.push(`${o.page}:${o.line}:${character + 1} (${m.file}) TS${d.code}: ${message}`);
  }
  return { dir, problems: problems.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })) };
}

/** The pages users read: the README, docs/*.md, and the examples' READMEs. */
function pages(): Array<{ path: string; text: string }> {
  const paths = [
    'README.md',
    ...readdirSync(join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
    ...readdirSync(join(root, 'examples'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => `examples/${d.name}/README.md`)
      .filter((f) => existsSync(join(root, f))),
  ];
  return paths.map((path) => ({ path, text: readFileSync(join(root, path), 'utf8') }));
}

const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

describe('the TypeScript blocks of the README and the docs', () => {
  it('compile against the built package, as modules of a user project', { timeout: 180_000 }, () => {
    expect(existsSync(join(root, 'dist/src/index.d.ts')), 'the package is built (npm run build)').toBe(true);
    const blocks = pages().flatMap((p) => extractBlocks(p.path, p.text));
    const modules = toModules(blocks);
    expect(modules.length).toBeGreaterThan(15);
    // Skips stay rare, and each says why.
    const skipped = blocks.filter((b) => b.mode === 'skip');
    expect(skipped.length).toBeLessThanOrEqual(3);
    const { dir, problems } = typeCheck(modules);
    made.push(dir);
    expect(problems).toEqual([]);
  });

  it('fails on a block that does not type-check, naming its page and line (the check can fail)', {
    timeout: 180_000,
  }, () => {
    const page = [
      '# A page',
      '',
      '```ts',
      "import { createRuntime } from 'hearsay';",
      'const n: number = createRuntime;',
      '```',
      '',
      '<!-- compile: continues -->',
      '```typescript',
      'const s: string = 42;',
      '```',
      '',
      '<!-- compile: skip (a fragment on purpose) -->',
      '```ts',
      'this is not TypeScript',
      '```',
      '',
      '- a list item:',
      '',
      '  ```ts',
      "  import { notExported } from 'hearsay';",
      '  ```',
    ].join('\n');
    const blocks = extractBlocks('docs/example.md', page);
    expect(blocks.map((b) => [b.line, b.mode])).toEqual([
      [4, 'own'],
      [10, 'continues'],
      [15, 'skip'],
      [21, 'own'],
    ]);
    expect(blocks[2]!.skipReason).toBe('a fragment on purpose');
    const { dir, problems } = typeCheck(toModules(blocks));
    made.push(dir);
    expect(problems.map((p) => p.replace(/ \(.*?\) TS(\d+):.*$/s, ' TS$1'))).toEqual([
      'docs/example.md:5:7 TS2322',
      'docs/example.md:10:7 TS2322',
      'docs/example.md:21:10 TS2305',
    ]);
  });

  it('refuses a skip without a reason and a continuation with nothing before it', () => {
    expect(() => extractBlocks('p.md', '<!-- compile: skip -->\n```ts\nx\n```')).toThrow(
      /unknown compile marker/,
    );
    expect(() => toModules(extractBlocks('p.md', '<!-- compile: continues -->\n```ts\nx\n```'))).toThrow(
      /no block before it/,
    );
  });
});
