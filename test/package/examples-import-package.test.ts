/**
 * The examples are written as a user's code is: they import the library by its package name (`hearsay`,
 * `hearsay/client`, …, resolved through package.json `exports` to the build), never by a relative path into
 * the sources or the build. A relative import into src/ would load a second copy of the library beside the
 * one a CLI or a test loads, and would show users an import they cannot write.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  exports: Record<string, unknown>;
};
const entries = new Set(
  Object.keys(pkg.exports).map((sub) => (sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`)),
);

/** Every source file under examples/, at any depth. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name);
    if (d.isDirectory()) return d.name === 'node_modules' ? [] : sources(path);
    return /\.(c|m)?(t|j)sx?$/.test(d.name) && !d.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** What a file imports: static imports, re-exports, dynamic `import('…')` and `require('…')`. */
const importsOf = (file: string): string[] =>
  ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);

describe('the examples import the package by its name', () => {
  const files = sources(join(root, 'examples'));

  it('finds the examples', () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it('no example imports a relative path into src/ or dist/ (or anywhere outside examples/)', () => {
    const outside: string[] = [];
    for (const file of files) {
      for (const spec of importsOf(file)) {
        if (!spec.startsWith('.') && !spec.startsWith('/')) continue;
        const target = relative(root, resolve(dirname(file), spec));
        if (!target.startsWith(`examples${sep}`)) outside.push(`${relative(root, file)}: '${spec}'`);
      }
    }
    expect(outside).toEqual([]);
  });

  it('every import of the package names one of its entries (package.json exports)', () => {
    const named: string[] = [];
    const unknown: string[] = [];
    for (const file of files) {
      for (const spec of importsOf(file)) {
        if (spec !== pkg.name && !spec.startsWith(`${pkg.name}/`)) continue;
        named.push(spec);
        if (!entries.has(spec)) unknown.push(`${relative(root, file)}: '${spec}'`);
      }
    }
    expect(unknown).toEqual([]);
    // The check holds something: the examples do import the package (the root, and a subpath).
    expect(named).toContain(pkg.name);
    expect(named.some((s) => s !== pkg.name)).toBe(true);
  });
});
