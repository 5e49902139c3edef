import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { checker, entries, exported, isValue, pkg, resolved, root } from './support/entries.js';

const dist = join(root, 'dist/src');

/**
 * Types computed inside other types that a user never writes: the recursion step of `PathOf`, a node of
 * `Keyed`'s trie, and `statusPool`'s argument list and option names (its options are `StatusPoolOptions`). Each is here for
 * a reason; a type a user receives never is.
 */
const HELPERS = new Set(['Next', 'Mid', 'StatusPoolArgs', 'StatusName']);

describe('the public surface of every entry', () => {
  it('matches the recorded export lists (a change to them is a decision: record it with -u)', async () => {
    const lines: string[] = [];
    for (const [spec, symbols] of exported) {
      const names = symbols.map((s) => s.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      lines.push(`${spec}`);
      lines.push(`  values: ${names.filter((n) => isValue(symbols.find((s) => s.name === n)!)).join(', ')}`);
      lines.push(`  types:  ${names.filter((n) => !isValue(symbols.find((s) => s.name === n)!)).join(', ')}`);
    }
    await expect(`${lines.join('\n')}\n`).toMatchFileSnapshot('./__snapshots__/exports.txt');
  });

  it('exports at run time exactly the values its declarations promise', async () => {
    for (const e of entries) {
      const mod = (await import(pathToFileURL(join(root, e.js)).href)) as Record<string, unknown>;
      const declared = exported
        .get(e.spec)!
        .filter(isValue)
        .map((s) => s.name)
        .sort();
      expect(Object.keys(mod).sort(), e.spec).toEqual(declared);
      for (const name of declared) expect(mod[name], `${e.spec}: ${name}`).toBeDefined();
    }
  });

  it('keeps the root small and internals out of it', () => {
    const symbols = exported.get(pkg.name)!;
    const root = symbols.map((s) => s.name);
    // About 30 values (what a team is written with) and the types their signatures need.
    expect(symbols.filter(isValue).length).toBeLessThanOrEqual(35);
    expect(root.length).toBeLessThanOrEqual(145);
    for (const internal of [
      'RunScheduler',
      'ModelCaller',
      'AgentHost',
      'PathIndex',
      'prepareCommit',
      'stableHash',
      'isActivationQueue',
      'realClock',
      'RuntimeClock',
      'ModelClock',
      'TimerClock',
      'Spent',
      'TokenUsage',
      'check',
      'exact',
      'judge',
      'valueAt',
    ])
      expect(root, internal).not.toContain(internal);
  });

  it('names every type that a public signature mentions', () => {
    const public_ = new Set<ts.Symbol>();
    for (const symbols of exported.values()) for (const s of symbols) public_.add(resolved(s));
    const missing = new Map<string, string>();
    const seen = new Set<ts.Symbol>();
    const ours = (d: ts.Declaration) => d.getSourceFile().fileName.startsWith(dist);

    const visit = (node: ts.Node, from: string): void => {
      // What a class keeps to itself is not part of its surface.
      if (
        (ts.isPropertyDeclaration(node) || ts.isMethodDeclaration(node) || ts.isGetAccessor(node)) &&
        (ts.getCombinedModifierFlags(node) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !== 0
      )
        return;
      if (ts.isPrivateIdentifier(node)) return;
      // Nor does a member marked `@internal` (the parts of a class talk to each other through them).
      if (ts.getJSDocTags(node).some((t) => t.tagName.text === 'internal')) return;
      const name = ts.isTypeReferenceNode(node)
        ? node.typeName
        : ts.isExpressionWithTypeArguments(node)
          ? node.expression
          : undefined;
      if (name) {
        const at = checker.getSymbolAtLocation(name);
        if (at) reach(resolved(at), from);
      }
      ts.forEachChild(node, (child) => visit(child, from));
    };
    const reach = (symbol: ts.Symbol, from: string): void => {
      const decls = symbol.declarations ?? [];
      if (!decls.some(ours) || decls.every((d) => ts.isTypeParameterDeclaration(d))) return;
      if (HELPERS.has(symbol.name)) return;
      if (!public_.has(symbol)) {
        if (!missing.has(symbol.name)) missing.set(symbol.name, from);
        return;
      }
      if (seen.has(symbol)) return;
      seen.add(symbol);
      for (const d of decls) if (ours(d)) visit(d, symbol.name);
    };
    for (const [spec, symbols] of exported)
      for (const s of symbols) {
        const r = resolved(s);
        if (seen.has(r)) continue;
        seen.add(r);
        for (const d of r.declarations ?? []) visit(d, `${spec}: ${s.name}`);
      }
    expect(
      [...missing].map(([name, from]) => `${name} (mentioned by ${from})`),
      'types a public signature mentions but no entry exports',
    ).toEqual([]);
  });
});
