/**
 * The layering of Hearsay's parts (src/<part>/), checked by test/architecture/layers.test.ts in CI. Arrows
 * point one way: a part imports only the parts below it, and no file is part of an import cycle (type-only
 * imports included). A part that needs to call "up" takes a callback or an interface instead.
 */
const part = (name, mayImport) => ({
  name: `${name}-imports-only-${mayImport.join('-') || 'nothing'}`,
  comment: `src/${name} may import only ${mayImport.map((p) => `src/${p}`).join(', ') || 'no other part'}.`,
  severity: 'error',
  from: { path: `^src/${name}/` },
  to: { path: '^src/', pathNot: `^src/(${[name, ...mayImport].join('|')})/` },
});

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'No import cycles between files (and so none between parts).',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    part('blackboard', []),
    part('protocol', ['blackboard']),
    part('llm', ['blackboard']),
    part('actors', ['blackboard', 'llm']),
    part('scheduler', ['actors', 'blackboard', 'llm', 'protocol']),
    part('observability', ['blackboard', 'llm', 'protocol', 'scheduler']),
    part('workers', ['actors', 'blackboard', 'llm', 'protocol', 'scheduler', 'observability']),
    part('client', ['actors', 'blackboard', 'llm', 'observability', 'protocol', 'workers']),
    part('hub', ['blackboard', 'protocol']),
    part('postgres', ['blackboard', 'workers']),
    part('evals', ['blackboard', 'llm', 'protocol', 'runtime']),
    {
      name: 'inspector-page-speaks-only-the-protocol',
      comment: 'The inspector page talks to a runtime only through client and protocol, like any remote tool.',
      severity: 'error',
      from: { path: '^src/inspector/app/' },
      to: { path: '^src/', pathNot: '^src/(inspector/app|client|protocol|blackboard)/' },
    },
    part('runtime', ['actors', 'blackboard', 'hub', 'inspector', 'llm', 'observability', 'protocol', 'scheduler', 'workers']),
    part('cli', ['blackboard', 'client', 'evals', 'inspector', 'llm', 'protocol', 'runtime', 'scheduler']),
    {
      name: 'entries-are-leaves',
      comment: 'Nothing inside the library imports its public entries (src/index.ts, src/entries/).',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/(index\\.ts$|entries/)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^src/inspector/app/.*\\.(css|html)$' },
  },
};
