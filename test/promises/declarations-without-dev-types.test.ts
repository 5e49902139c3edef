/**
 * The package's declarations compile in a user's project that has only what installing `hearsay` brings
 * (its dependencies) and `@types/node`: no `@types/*` package of the repository's devDependencies. A user
 * with `skipLibCheck: false` (the strict setting) who imports `hearsay` (or any entry but
 * `hearsay/postgres`, whose peer `pg` the user installs with its types) must not need `@types/ws`; with
 * `skipLibCheck: true`, the types that needed it would silently be `any`.
 *
 * A copy of the built package (package.json and dist/src, as the tarball holds them) is placed in a
 * temporary project whose node_modules links the package's dependencies and nothing else, so no
 * declaration of the repository's own node_modules/@types is found. A copy, not a link: TypeScript
 * resolves a linked package from its real path, where the repository's devDependencies are.
 *
 * Needs `npm run build`.
 */
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
  exports: Record<string, string | { types?: string }>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
};

let tmp: string;

beforeAll(() => {
  expect(existsSync(join(repo, 'dist/src/index.d.ts')), 'the package is built (npm run build)').toBe(true);
  tmp = mkdtempSync(join(tmpdir(), 'hearsay-dts-'));
  const modules = join(tmp, 'node_modules');
  const own = join(modules, 'hearsay');
  mkdirSync(join(own, 'dist'), { recursive: true });
  cpSync(join(repo, 'package.json'), join(own, 'package.json'));
  cpSync(join(repo, 'dist', 'src'), join(own, 'dist', 'src'), { recursive: true });
  // What `npm install hearsay` brings: its dependencies and its required peers; plus @types/node (and
  // undici-types, which it needs), which every Node TypeScript project has.
  const required = Object.keys(pkg.peerDependencies).filter((n) => !pkg.peerDependenciesMeta?.[n]?.optional);
  for (const name of [...Object.keys(pkg.dependencies), ...required, '@types/node', 'undici-types']) {
    mkdirSync(dirname(join(modules, name)), { recursive: true });
    symlinkSync(join(repo, 'node_modules', name), join(modules, name), 'dir');
  }
  writeFileSync(join(tmp, 'package.json'), JSON.stringify({ name: 'user', type: 'module', private: true }));
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the declarations, in a project without the repository devDependencies', () => {
  it('compile for every entry but hearsay/postgres with skipLibCheck false, under NodeNext and Bundler', async () => {
    const entries = Object.entries(pkg.exports)
      .filter(([sub, target]) => typeof target === 'object' && target.types && sub !== './postgres')
      .map(([sub]) => (sub === '.' ? 'hearsay' : `hearsay/${sub.slice(2)}`));
    expect(entries).toContain('hearsay');
    expect(entries).toContain('hearsay/hub');
    writeFileSync(
      join(tmp, 'user.ts'),
      `${entries.map((e, i) => `import * as e${i} from '${e}';`).join('\n')}\nexport const all = [${entries.map((_, i) => `e${i}`).join(', ')}];\n`,
    );
    const tsc = join(repo, 'node_modules/typescript/bin/tsc');
    for (const [module, moduleResolution] of [
      ['NodeNext', 'NodeNext'],
      ['ESNext', 'Bundler'],
    ]) {
      writeFileSync(
        join(tmp, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module,
            moduleResolution,
            strict: true,
            skipLibCheck: false,
            noEmit: true,
            types: ['node'],
          },
          files: ['user.ts'],
        }),
      );
      const compiled = await run(process.execPath, [tsc, '-p', tmp], { cwd: tmp }).catch(
        (e: { stdout: string }) => ({ stdout: e.stdout }),
      );
      expect(compiled.stdout, `${moduleResolution}: ${entries.join(', ')}`).toBe('');
    }
  }, 120_000);
});
