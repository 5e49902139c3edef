/**
 * The package as a user installs it. `npm pack` the library; check what the tarball holds; install it in a
 * fresh project (`"type": "module"`); compile a small team written against the public types there with
 * tsc (strict, NodeNext, the declarations checked too) and run it with node against an OpenAI-compatible
 * server on loopback.
 *
 * Nothing reaches the internet. A plain `npm install --offline <tarball>` needs the registry's metadata of
 * each dependency in npm's cache, which `npm ci` (what CI runs first) does not put there: it fetches
 * tarballs only. So the project is installed the way a project with a lockfile is: its package-lock.json
 * locks the tarball and, for every dependency, the version and integrity the repository's own lockfile
 * holds (the tarballs `npm ci` cached), and `npm ci --offline` installs it.
 *
 * Needs `npm run build` (the tarball packs dist/ as it is; `npm pack` alone would build it through
 * `prepack`).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAI } from '../support/fake-openai.js';

const run = promisify(execFile);
const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');

interface Manifest {
  name: string;
  version: string;
  license: string;
  type?: string;
  bin?: Record<string, string>;
  files?: string[];
  scripts?: Record<string, string>;
  exports: Record<string, string | { types?: string; import?: string }>;
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}
interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [field: string]: unknown;
}

const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as Manifest;
const repoLock = (
  JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  }
).packages;

let tmp: string;
let tarball: string;
/** The tarball's files, as npm pack reports them (paths inside the package). */
let packed: string[];
/** Where the tarball is unpacked (its `package/` directory), to read what it holds. */
let unpacked: string;
const project = () => join(tmp, 'project');

/** The lockfile entry a package at `from` (a lockfile key, '' for the project) gets for `name`, as Node resolves it. */
function resolveIn(from: string, name: string): string | undefined {
  for (let at = from; ; ) {
    const key = `${at ? `${at}/` : ''}node_modules/${name}`;
    if (repoLock[key]) return key;
    if (!at) return undefined;
    const i = at.lastIndexOf('/node_modules/');
    at = i < 0 ? '' : at.slice(0, i);
  }
}

/**
 * The project's package-lock.json: the tarball, and for each package it needs (the tarball's dependencies
 * and required peers, the project's own, and theirs) the entry of the repository's lockfile.
 */
function projectLock(manifest: Manifest, tarballSpec: string, integrity: string): unknown {
  const packages: Record<string, LockEntry> = {
    '': {
      name: manifest.name,
      dependencies: manifest.dependencies ?? {},
      devDependencies: manifest.devDependencies ?? {},
    },
    'node_modules/hearsay': {
      version: pkg.version,
      resolved: tarballSpec,
      integrity,
      license: pkg.license,
      dependencies: pkg.dependencies ?? {},
      peerDependencies: pkg.peerDependencies ?? {},
      peerDependenciesMeta: pkg.peerDependenciesMeta ?? {},
      ...(pkg.engines ? { engines: pkg.engines } : {}),
      ...(pkg.bin ? { bin: pkg.bin } : {}),
    },
  };
  const dev = new Set(Object.keys(manifest.devDependencies ?? {}));
  const requiredPeers = (e: LockEntry) =>
    Object.keys(e.peerDependencies ?? {}).filter((n) => !e.peerDependenciesMeta?.[n]?.optional);
  const queue: [string, string, 'prod' | 'dev' | 'peer'][] = [
    ...Object.keys(manifest.dependencies ?? {})
      .filter((n) => n !== 'hearsay')
      .map((n) => ['', n, 'prod'] as [string, string, 'prod']),
    ...[...dev].map((n) => ['', n, 'dev'] as [string, string, 'dev']),
    ...Object.keys(pkg.dependencies ?? {}).map(
      (n) => ['node_modules/hearsay', n, 'prod'] as [string, string, 'prod'],
    ),
    ...requiredPeers(packages['node_modules/hearsay']!).map(
      (n) => ['node_modules/hearsay', n, 'peer'] as [string, string, 'peer'],
    ),
  ];
  for (let next = queue.shift(); next; next = queue.shift()) {
    const [from, name, kind] = next;
    const key = resolveIn(from === 'node_modules/hearsay' ? '' : from, name);
    if (!key) throw new Error(`package-lock.json holds no ${name} (needed by ${from || 'the project'})`);
    if (packages[key]) continue;
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = repoLock[key]!;
    packages[key] = { ...entry, ...(kind === 'dev' ? { dev: true } : kind === 'peer' ? { peer: true } : {}) };
    for (const d of Object.keys(entry.dependencies ?? {})) queue.push([key, d, kind]);
    for (const d of requiredPeers(entry)) queue.push([key, d, kind]);
  }
  return { name: manifest.name, lockfileVersion: 3, requires: true, packages };
}

beforeAll(async () => {
  expect(existsSync(join(repo, 'dist/src/index.js')), 'the package is built (npm run build)').toBe(true);
  tmp = mkdtempSync(join(tmpdir(), 'hearsay-pack-'));
  // dist/ is fresh (npm test builds first): pack it as it is, without building again under running tests.
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], {
    cwd: repo,
  });
  const [report] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
  tarball = join(tmp, report.filename);
  packed = report.files.map((f) => f.path);
  unpacked = join(tmp, 'unpacked');
  mkdirSync(unpacked);
  await run('tar', ['-xzf', tarball, '-C', unpacked]);

  // A fresh project: the tarball, zod for its board schema, and the types a TypeScript user has.
  const spec = `file:../${report.filename}`;
  const manifest: Manifest = {
    name: 'user-project',
    version: '1.0.0',
    license: 'UNLICENSED',
    type: 'module',
    exports: {},
    dependencies: { hearsay: spec, zod: pkg.dependencies!.zod! },
    devDependencies: Object.fromEntries(
      ['@types/node', '@types/pg'].map((n) => [n, pkg.devDependencies![n]!]),
    ),
  };
  const { exports: _exports, ...written } = manifest;
  mkdirSync(join(project(), 'src'), { recursive: true });
  writeFileSync(join(project(), 'package.json'), `${JSON.stringify(written, null, 2)}\n`);
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  writeFileSync(
    join(project(), 'package-lock.json'),
    JSON.stringify(projectLock(manifest, spec, integrity), null, 2),
  );
  writeFileSync(
    join(project(), 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        skipLibCheck: false,
        types: ['node'],
        rootDir: 'src',
        outDir: 'out',
      },
      include: ['src'],
    }),
  );
  writeFileSync(
    join(project(), 'src', 'team.ts'),
    readFileSync(join(repo, 'test/package/fixtures/user-team.ts'), 'utf8'),
  );
}, 180_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Every file under `dir`, as paths relative to it. */
const filesUnder = (dir: string, prefix = ''): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? filesUnder(join(dir, d.name), `${prefix}${d.name}/`) : [`${prefix}${d.name}`],
  );

describe('the packed tarball', () => {
  it('holds the build, the inspector bundle, the README and the docs', () => {
    const targets = Object.values(pkg.exports).flatMap((t) =>
      typeof t === 'string' ? [t] : [t.types, t.import].filter((x): x is string => x !== undefined),
    );
    for (const target of [...targets, ...Object.values(pkg.bin ?? {})])
      expect(packed, `${target} (package.json names it)`).toContain(posix.normalize(target));
    expect(packed).toContain('dist/inspector/inspector.js');
    expect(packed).toContain('dist/inspector/inspector.css');
    expect(packed).toContain('README.md');
    expect(packed).toContain('package.json');
    expect(packed).toContain('LICENSE');
    const docs = readdirSync(join(repo, 'docs')).filter((f) => f.endsWith('.md'));
    expect(docs.length).toBeGreaterThan(0);
    for (const page of docs) expect(packed, 'the docs ship with the package').toContain(`docs/${page}`);
    expect(filesUnder(join(unpacked, 'package')).sort()).toEqual([...packed].sort());
  });

  it('holds no tests, no TypeScript sources, no source map to a missing file, no path of this machine', () => {
    expect(packed.filter((f) => f.startsWith('test/') || f.startsWith('dist/test/'))).toEqual([]);
    expect(packed.filter((f) => f.startsWith('src/') || (f.endsWith('.ts') && !f.endsWith('.d.ts')))).toEqual(
      [],
    );
    expect(packed.filter((f) => /^(bench|scripts|examples|node_modules)\//.test(f))).toEqual([]);
    const missing: string[] = [];
    for (const map of packed.filter((f) => f.endsWith('.map'))) {
      const m = JSON.parse(readFileSync(join(unpacked, 'package', map), 'utf8')) as {
        sources: string[];
        sourcesContent?: (string | null)[];
      };
      m.sources.forEach((source, i) => {
        const target = posix.join(posix.dirname(map), source);
        if (!packed.includes(target) && typeof m.sourcesContent?.[i] !== 'string')
          missing.push(`${map} → ${source}`);
      });
    }
    expect(missing).toEqual([]);
    const machine = [repo, homedir(), tmpdir(), '/work/'].filter((p) => p.length > 1);
    const leaks: string[] = [];
    for (const file of packed) {
      const path = join(unpacked, 'package', file);
      if (statSync(path).size > 8_000_000) continue;
      const text = readFileSync(path, 'utf8');
      for (const p of machine) if (text.includes(p)) leaks.push(`${file}: ${p}`);
    }
    expect(leaks).toEqual([]);
  });

  it('runs nothing when installed, and builds when packed (prepack)', () => {
    const scripts = pkg.scripts ?? {};
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare'])
      expect(scripts[hook], `a "${hook}" script runs on every install`).toBeUndefined();
    expect(scripts.prepack).toMatch(/\bnpm run build\b/);
    expect(scripts.test).toMatch(/^npm run build\b/);
  });
});

describe('a fresh project that installs the tarball', () => {
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
  });
  afterAll(async () => {
    await fake?.stop();
  });

  it('installs offline without warnings, compiles a team against the public types, and runs it', async () => {
    const installed = await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], {
      cwd: project(),
      env: { ...process.env, npm_config_update_notifier: 'false' },
    });
    expect(installed.stderr.split('\n').filter((l) => /\bwarn/i.test(l))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(project(), 'node_modules/hearsay/package.json'), 'utf8'));
    expect(manifest.version).toBe(pkg.version);

    // tsc (the repository's, as a user's devDependency), strict and NodeNext, the package's .d.ts checked too.
    const tsc = join(repo, 'node_modules/typescript/bin/tsc');
    const compiled = await run(process.execPath, [tsc, '-p', project()], { cwd: project() }).catch(
      (e: { stdout: string }) => ({ stdout: e.stdout, failed: true }),
    );
    expect(compiled.stdout).toBe('');

    // One 429 first: the client retries it over the real wire.
    fake.reply({ status: 429, headers: { 'retry-after': '0' }, error: 'Rate limit reached' });
    const { stdout } = await run(process.execPath, [join(project(), 'out', 'team.js')], {
      cwd: project(),
      env: { ...process.env, OPENAI_API_KEY: 'test-key', OPENAI_BASE_URL: fake.url },
      timeout: 60_000,
    });
    const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      simulated: boolean;
      outcome: string;
      reason: string;
      tasks: Record<string, { title: string; status: string; result?: string }>;
      report?: string;
    };
    expect(out.simulated).toBe(false);
    expect(out.outcome, out.reason).toBe('completed');
    expect(out.tasks).toEqual({
      t1: { title: 'design the release', status: 'done', result: 'ok' },
      t2: { title: 'build the release', status: 'done', result: 'ok' },
      t3: { title: 'test the release', status: 'done', result: 'ok' },
    });
    expect(out.report).toBe('t1: ok; t2: ok; t3: ok');
    // Three tasks, one call each, plus the refused one; each with its task, to the large tier's model.
    const prompts = fake.received.map((r) => r.body.messages.at(-1)?.content);
    expect(prompts).toHaveLength(4);
    expect(new Set(prompts)).toEqual(
      new Set(['Do: design the release', 'Do: build the release', 'Do: test the release']),
    );
    expect(new Set(fake.received.map((r) => r.body.model))).toEqual(new Set(['gpt-4o']));
  });
});
