/**
 * The package's entries as a user's TypeScript sees them: every subpath of package.json "exports", its
 * built declarations and JavaScript, and each entry's exported symbols read with the compiler API from
 * dist/ (run `npm run build` first).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
export const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  exports: Record<string, string | { types: string; import: string }>;
};

/** `hearsay`, `hearsay/client`, …: each with its declaration file and its JavaScript. */
export const entries = Object.entries(pkg.exports)
  .filter(([sub]) => sub !== './package.json')
  .map(([sub, target]) => {
    const t = target as { types: string; import: string };
    return { spec: sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`, types: t.types, js: t.import };
  });

export const program = ts.createProgram(
  entries.map((e) => join(root, e.types)),
  { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true },
);
export const checker = program.getTypeChecker();

/** The declaration a re-export stands for. */
export const resolved = (s: ts.Symbol): ts.Symbol =>
  s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;

/** Each entry's exported symbols, in the entry's order. */
export const exported = new Map(
  entries.map((e) => {
    const file = program.getSourceFile(join(root, e.types));
    if (!file) throw new Error(`${e.types} is not built: run npm run build`);
    return [e.spec, checker.getExportsOfModule(checker.getSymbolAtLocation(file)!)] as const;
  }),
);

/** A value export, unless some hop of its re-export chain is `export type` (then users get only its type). */
export function isValue(s: ts.Symbol): boolean {
  let at = s;
  while (at.flags & ts.SymbolFlags.Alias) {
    if (at.declarations?.some((d) => ts.isTypeOnlyImportOrExportDeclaration(d))) return false;
    at = checker.getImmediateAliasedSymbol(at) ?? checker.getAliasedSymbol(at);
  }
  return (at.flags & ts.SymbolFlags.Value) !== 0;
}
