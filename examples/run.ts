/** `npm run example -- <name>`: runs one of the orchestration patterns. */
const examples: Record<string, string> = {
  'hub-and-spoke': './hub-and-spoke/main.js',
  pipeline: './pipeline/main.js',
  'peer-to-peer': './peer-to-peer/main.js',
  hierarchical: './hierarchical/main.js',
};
const name = process.argv[2];
if (!name || !(name in examples)) {
  console.error(`Usage: npm run example -- <name>\nExamples: ${Object.keys(examples).join(', ')}`);
  process.exit(2);
}
await import(examples[name]!);
