import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { checker, exported, isValue, pkg, resolved } from './support/entries.js';

/** What an editor shows for a name: its summary and its `@example` blocks. */
interface Doc {
  summary: string;
  examples: string[];
}

function docOf(s: ts.Symbol): Doc {
  const r = resolved(s);
  return {
    summary: ts.displayPartsToString(r.getDocumentationComment(checker)).trim(),
    examples: r
      .getJsDocTags(checker)
      .filter((t) => t.name === 'example')
      .map((t) => ts.displayPartsToString(t.text)),
  };
}

const IMPORT = /import\s+(?:type\s+)?(?:\{([^}]*)\}|[\w$]+)\s+from\s+['"]([^'"]+)['"];?/g;

/** `import { a, type B, c as d } from 'x'` → ['a', 'B', 'c'] (the names as the module exports them). */
const importedNames = (list: string): string[] =>
  list
    .split(',')
    .map(
      (part) =>
        part
          .trim()
          .replace(/^type\s+/, '')
          .split(/\s+as\s+/)[0]!,
    )
    .filter(Boolean);

/**
 * What is wrong with one export's documentation, as sentences (none when it is documented):
 * no summary; a value without an `@example`; an example that never uses the name (its import aside);
 * an example importing from the package a name that entry does not export.
 */
function problemsOf(
  name: string,
  value: boolean,
  doc: Doc,
  exportsOf: (spec: string) => Set<string> | undefined,
): string[] {
  const out: string[] = [];
  if (!doc.summary) out.push(`${name}: no doc comment`);
  if (!value) return out;
  if (doc.examples.length === 0) out.push(`${name}: a value without an @example`);
  const word = new RegExp(`(^|[^\\w$])${name.replace(/\$/g, '\\$')}(?![\\w$])`);
  for (const example of doc.examples) {
    if (!word.test(example.replace(IMPORT, ''))) out.push(`${name}: an @example that does not use ${name}`);
    for (const m of example.matchAll(IMPORT)) {
      const spec = m[2]!;
      if (spec !== pkg.name && !spec.startsWith(`${pkg.name}/`)) continue;
      const names = exportsOf(spec);
      if (!names) {
        out.push(`${name}: an @example imports from '${spec}', which is not an entry of the package`);
        continue;
      }
      for (const imported of importedNames(m[1] ?? ''))
        if (!names.has(imported))
          out.push(`${name}: an @example imports ${imported} from '${spec}', which does not export it`);
    }
  }
  return out;
}

const namesOf = new Map([...exported].map(([spec, symbols]) => [spec, new Set(symbols.map((s) => s.name))]));

describe('every public export is documented', () => {
  it('has a doc comment, and for a value an @example that uses it and imports it from a real entry', () => {
    const problems: string[] = [];
    let checked = 0;
    for (const [spec, symbols] of exported)
      for (const s of symbols) {
        checked++;
        for (const p of problemsOf(s.name, isValue(s), docOf(s), (e) => namesOf.get(e)))
          problems.push(`${spec}: ${p}`);
      }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(200);
  });

  it('finds each kind of gap (the check can fail)', () => {
    const of = (e: string) => namesOf.get(e);
    const example =
      "import { createRuntime } from 'hearsay';\nconst runtime = createRuntime({ agents: [] });";
    expect(problemsOf('createRuntime', true, { summary: 'Starts runs.', examples: [example] }, of)).toEqual(
      [],
    );
    expect(problemsOf('Usage', false, { summary: '', examples: [] }, of)).toEqual(['Usage: no doc comment']);
    expect(problemsOf('keyed', true, { summary: 'A collection.', examples: [] }, of)).toEqual([
      'keyed: a value without an @example',
    ]);
    // Importing the name is not using it; a longer name that contains it is not it either.
    expect(
      problemsOf(
        'Hub',
        true,
        { summary: 'A hub.', examples: ["import { Hub } from 'hearsay/hub';\nnew HubRefusal();"] },
        of,
      ),
    ).toEqual(['Hub: an @example that does not use Hub']);
    expect(
      problemsOf(
        'judge',
        true,
        { summary: 'Scores.', examples: ["import { judge } from 'hearsay';\njudge({});"] },
        of,
      ),
    ).toEqual(["judge: an @example imports judge from 'hearsay', which does not export it"]);
    expect(
      problemsOf(
        'judge',
        true,
        { summary: 'Scores.', examples: ["import { judge } from 'hearsay/nope';\njudge({});"] },
        of,
      ),
    ).toEqual(["judge: an @example imports from 'hearsay/nope', which is not an entry of the package"]);
  });
});
