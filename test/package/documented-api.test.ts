/**
 * Every name the README and the docs teach is exported by the built package, under the entry the docs
 * import it from. The names are read from the docs themselves, so a page that starts using a new name is
 * held to it without anyone updating this test:
 * - every `import { … } from 'hearsay…'` in a code block (types included, checked against the `.d.ts`);
 * - every call or construction written in backticks or code (`FileStore(…)`, `new FileStore(…)`,
 *   `approves(…)`) that is not a member of something (`board.at(…)`, `tools.model(…)`): a free function or
 *   class the docs show must come from the package, or from a library the docs name.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  exports: Record<string, string | { types?: string; import?: string }>;
};

/** The package's entries (`hearsay`, `hearsay/client`, …) and their built JS and declaration files. */
const entries = Object.entries(pkg.exports)
  .filter(
    ([sub, target]) =>
      typeof target === 'object' && target.import && target.types && sub !== './package.json',
  )
  .map(([sub, target]) => {
    const t = target as { types: string; import: string };
    return { spec: sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`, types: t.types, js: t.import };
  });

/** Every name an entry exports, types included, as TypeScript sees the built declarations. */
function declaredExports(): Map<string, Set<string>> {
  const program = ts.createProgram(
    entries.map((e) => join(root, e.types)),
    { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true },
  );
  const checker = program.getTypeChecker();
  const out = new Map<string, Set<string>>();
  for (const e of entries) {
    const file = program.getSourceFile(join(root, e.types));
    expect(file, `${e.types} is built (npm run build)`).toBeDefined();
    const symbol = checker.getSymbolAtLocation(file!)!;
    out.set(e.spec, new Set(checker.getExportsOfModule(symbol).map((s) => s.name)));
  }
  return out;
}

/** The Markdown pages that teach the package. */
const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
  ...readdirSync(join(root, 'examples'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => `examples/${d.name}/README.md`)
    .filter((f) => {
      try {
        readFileSync(join(root, f));
        return true;
      } catch {
        return false;
      }
    }),
].map((path) => ({ path, text: readFileSync(join(root, path), 'utf8') }));

const codeBlocks = (text: string): string[] =>
  [...text.matchAll(/^```(?:ts|typescript|js|javascript)\s*\n([\s\S]*?)^```/gm)].map((m) => m[1]!);

/** `import { a, type B, c as d } from 'hearsay/x'` → ['hearsay/x', ['a', 'B', 'c']]. */
function packageImports(code: string): Array<{ spec: string; names: string[] }> {
  const out: Array<{ spec: string; names: string[] }> = [];
  const re = new RegExp(`import\\s+(type\\s+)?\\{([^}]*)\\}\\s+from\\s+'(${pkg.name}(?:/[\\w-]+)?)'`, 'g');
  for (const m of code.matchAll(re)) {
    const names = m[2]!
      .split(',')
      .map((s) =>
        s
          .trim()
          .replace(/^type\s+/, '')
          .split(/\s+as\s+/)[0]!
          .trim(),
      )
      .filter(Boolean);
    out.push({ spec: m[3]!, names });
  }
  return out;
}

/**
 * Names the docs call or construct as free functions or classes: in inline code spans and code blocks,
 * `name(` or `new Name(` not preceded by `.` (a member) and not declared by the block itself.
 */
function freeCalls(text: string): Set<string> {
  const out = new Set<string>();
  const prose = text.replace(/^```[\s\S]*?^```/gm, '');
  const spans = prose.split('\n').flatMap((line) => [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
  // Comments in code blocks are prose, not calls.
  const blocks = codeBlocks(text).map((code) => code.replace(/\/\/.*$/gm, ''));
  for (const code of [...spans, ...blocks]) {
    const declared = new Set(
      [...code.matchAll(/\b(?:const|let|function|class|async function)\s+\{?\s*([\w$, ]+)/g)].flatMap((m) =>
        m[1]!.split(',').map((s) => s.trim()),
      ),
    );
    for (const m of code.matchAll(/(^|[^.\w$])(new\s+)?([A-Za-z_$][\w$]*)\s*(?:<[^>()]*>)?\(/g)) {
      const name = m[3]!;
      if (!declared.has(name)) out.add(name);
    }
  }
  return out;
}

/**
 * Free calls the docs show that are not the package's: JavaScript and Node globals, the libraries the docs
 * import from (xstate, zod, OpenTelemetry), keywords that look like calls, and names of spans and of
 * functions a user writes in an example. Each is here for a reason; a name of the package never is.
 */
const NOT_OURS = new Set([
  // language, globals and Node
  'if',
  'for',
  'while',
  'switch',
  'catch',
  'return',
  'await',
  // `async (e) => …`: an async arrow function, not a call
  'async',
  'typeof',
  'function',
  'import',
  'require',
  'Promise',
  'Error',
  'Map',
  'Set',
  'Array',
  'Object',
  'JSON',
  'String',
  'Number',
  'Boolean',
  'Date',
  'Symbol',
  'AbortController',
  'URL',
  'setTimeout',
  'clearTimeout',
  'structuredClone',
  'fetch',
  'console',
  'createServer',
  // xstate, zod and OpenTelemetry, imported from there in the blocks
  'setup',
  'fromPromise',
  'fromCallback',
  'createMachine',
  'createActor',
  'assign',
  'transition',
  'raise',
  'sendTo',
  'NodeSDK',
  'OTLPTraceExporter',
  'OTLPMetricExporter',
  'PeriodicExportingMetricReader',
  // span names (OpenTelemetry GenAI conventions): `chat <model>`, `execute_tool <name>`
  'chat',
  'execute_tool',
  // functions the examples leave to the user
  'askModel',
  'hasWorkToReview',
]);

describe('the documented API exists in the built package', () => {
  const declared = declaredExports();
  const anywhere = new Set([...declared.values()].flatMap((s) => [...s]));

  it('exports every name the docs import, from the entry they import it from', async () => {
    const missing: string[] = [];
    let checked = 0;
    for (const page of pages) {
      for (const block of codeBlocks(page.text)) {
        for (const { spec, names } of packageImports(block)) {
          const names_ = declared.get(spec);
          if (!names_) {
            missing.push(`${page.path}: '${spec}' is not an entry of the package`);
            continue;
          }
          for (const name of names) {
            checked++;
            if (!names_.has(name)) missing.push(`${page.path}: ${name} from '${spec}'`);
          }
        }
      }
    }
    expect(missing).toEqual([]);
    expect(checked).toBeGreaterThan(10);
  });

  it('exports every value import at run time, as a user importing the package gets it', async () => {
    const missing: string[] = [];
    for (const page of pages) {
      for (const block of codeBlocks(page.text)) {
        for (const m of block.matchAll(
          new RegExp(`import\\s+\\{([^}]*)\\}\\s+from\\s+'(${pkg.name}(?:/[\\w-]+)?)'`, 'g'),
        )) {
          const mod = (await import(m[2]!)) as Record<string, unknown>;
          for (const part of m[1]!
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)) {
            if (part.startsWith('type ')) continue;
            const name = part.split(/\s+as\s+/)[0]!;
            if (mod[name] === undefined) missing.push(`${page.path}: ${name} from '${m[2]}'`);
          }
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('exports every free function and class the docs call', () => {
    // Members the docs call (board.at, tools.model, …) are written with their object or are the members of
    // an exported type; a free name must be exported by one of the package's entries.
    const dts = entries.map((e) => e.types);
    const members = memberNames(dts.map((d) => join(root, d)));
    const missing: string[] = [];
    for (const page of pages) {
      for (const name of freeCalls(page.text)) {
        if (anywhere.has(name) || NOT_OURS.has(name) || members.has(name)) continue;
        missing.push(`${page.path}: ${name}(…)`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('finds a name the docs use that the package does not export (the check can fail)', () => {
    const text =
      "```ts\nimport { createRuntime, notExported } from 'hearsay';\n```\nThen `approvesNothing(x)`.";
    const imports = codeBlocks(text).flatMap(packageImports);
    expect(imports).toEqual([{ spec: 'hearsay', names: ['createRuntime', 'notExported'] }]);
    expect(imports[0]!.names.filter((n) => !declared.get('hearsay')!.has(n))).toEqual(['notExported']);
    expect([...freeCalls(text)].filter((n) => !anywhere.has(n))).toEqual(['approvesNothing']);
  });
});

/** Every property and method name declared on the interfaces and classes the built package exports. */
function memberNames(files: string[]): Set<string> {
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    noEmit: true,
  });
  const out = new Set<string>();
  for (const file of program.getSourceFiles()) {
    if (!file.fileName.startsWith(join(root, 'dist'))) continue;
    const visit = (node: ts.Node): void => {
      if (
        (ts.isPropertySignature(node) ||
          ts.isMethodSignature(node) ||
          ts.isPropertyDeclaration(node) ||
          ts.isMethodDeclaration(node)) &&
        node.name &&
        ts.isIdentifier(node.name)
      )
        out.add(node.name.text);
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  return out;
}
