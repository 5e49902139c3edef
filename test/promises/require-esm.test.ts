/**
 * A CommonJS user's `require('hearsay')`. The package is ESM only, and Node 20.19+ (its `engines`) loads an
 * ES module through `require` (require(esm)) when the package's `exports` let `require` resolve it. With
 * only an `import` condition, `require('hearsay')` failed with `ERR_PACKAGE_PATH_NOT_EXPORTED: No "exports"
 * main defined`, which reads as a broken package; with a `default` condition naming the same file, every
 * entry loads, as the same module `import` loads (`hearsay/store` holds types only: an empty module).
 *
 * Runs `node` in a child process, from the repository (the package resolves itself by its name). Needs
 * `npm run build`.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
  exports: Record<string, string | { types?: string; import?: string; default?: string }>;
};
const entries = Object.keys(pkg.exports)
  .filter((sub) => sub !== './package.json')
  .map((sub) => (sub === '.' ? 'hearsay' : `hearsay/${sub.slice(2)}`));

describe("require('hearsay') from CommonJS (Node >= 20.19, require(esm))", () => {
  it('loads every entry, the same module import loads', async () => {
    expect(existsSync(join(repo, 'dist/src/index.js')), 'the package is built (npm run build)').toBe(true);
    expect(entries).toContain('hearsay');
    const script = `
      const out = {};
      (async () => {
        for (const name of ${JSON.stringify(entries)}) {
          let required;
          try { required = require(name); } catch (e) { out[name] = String(e.code ?? e.message); continue; }
          const imported = await import(name);
          const keys = Object.keys(imported).sort();
          out[name] = keys.every((k) => required[k] === imported[k]) &&
            Object.keys(required).filter((k) => k !== '__esModule' && k !== 'module.exports').sort().join() === keys.join()
            ? 'same' : 'different';
        }
        process.stdout.write(JSON.stringify(out));
      })();`;
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: repo });
    expect(JSON.parse(stdout)).toEqual(Object.fromEntries(entries.map((e) => [e, 'same'])));
  }, 60_000);

  it('resolves types first and the same file for import and require', () => {
    for (const [sub, target] of Object.entries(pkg.exports)) {
      if (typeof target === 'string') continue;
      expect(Object.keys(target)[0], sub).toBe('types');
      expect(target.default, `${sub}: a "default" condition (require(esm))`).toBe(target.import);
    }
  });
});
