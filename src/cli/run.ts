import type { Usage } from '../actors/index.js';
import type { LogEvent } from '../blackboard/index.js';
import { createRuntime, type RuntimeConfig } from '../runtime/index.js';
import { addUsage, emptySpent, TOPICS } from '../scheduler/index.js';
import { CliError, importModule } from './load.js';

export const runUsage = `Usage:
  hearsay run <workflow.ts|js> [--input <json>] [--port <n>] [--no-inspect] [--keep]

Runs a workflow module: its default export is a runtime configuration (what createRuntime takes), and an
optional export "input" is the run's input (--input overrides it, as JSON). Prints a live progress line
(activations, tokens, cost) and the inspector's address (a loopback hub in development mode; --no-inspect
runs without it, --keep keeps it up after the run until Ctrl-C). Exits 0 when the run completes or
quiesces, 1 when it ends otherwise.`;

interface RunOptions {
  readonly input?: string | undefined;
  readonly port?: string | undefined;
  readonly 'no-inspect'?: boolean | undefined;
  readonly keep?: boolean | undefined;
}

export async function runCommand(args: readonly string[], options: RunOptions): Promise<number> {
  const [file] = args;
  if (!file) throw new CliError('hearsay run: which workflow? (hearsay run <workflow.ts>)', 2);
  let input: unknown;
  if (options.input !== undefined) {
    try {
      input = JSON.parse(options.input);
    } catch (error) {
      throw new CliError(`--input is not JSON: ${(error as Error).message}`, 2);
    }
  }
  const mod = await importModule(file);
  const config = (mod.default ?? mod.config) as RuntimeConfig<never> | undefined;
  if (!config || typeof config !== 'object' || !Array.isArray((config as { agents?: unknown }).agents))
    throw new CliError(
      `${file} exports no runtime configuration (export default { board, agents, ... }).`,
      2,
    );
  input ??= mod.input;
  let runtime: ReturnType<typeof createRuntime>;
  try {
    runtime = createRuntime(config);
  } catch (error) {
    throw new CliError(`${file}: ${(error as Error).message}`, 2);
  }
  const hub = options['no-inspect']
    ? undefined
    : await runtime.listen({
        port: options.port === undefined ? 0 : Number(options.port),
        insecureDevMode: true,
        log: () => {},
      });
  if (hub) console.log(`inspector: ${hub.inspectorUrl}`);
  const handle = await runtime.start((input ?? {}) as never);
  let activations = 0;
  const spent = emptySpent();
  const tty = process.stderr.isTTY;
  let last = '';
  const show = (force = false) => {
    const line = `run ${handle.runId}: ${activations} activations, ${spent.tokens} tokens, $${spent.cost.toFixed(5)}`;
    if (line === last && !force) return;
    last = line;
    if (tty) process.stderr.write(`\r${line}`);
  };
  handle.board.subscribe({ from: 1 }, (e: LogEvent) => {
    if (e.type !== 'message') return;
    const p = e.payload as Record<string, unknown>;
    if (e.topic === TOPICS.activation && p.phase === 'started') activations += 1;
    else if (e.topic === TOPICS.usage) addUsage(spent, (p.usage ?? {}) as Usage);
    else return;
    show();
  });
  const stop = () => handle.cancel('interrupted (SIGINT)');
  process.once('SIGINT', stop);
  const result = await handle.result;
  process.off('SIGINT', stop);
  show(true);
  if (tty) process.stderr.write('\n');
  console.log(
    `${result.outcome}: ${result.reason} (${result.activations} activations, ${result.cost.total.tokens} tokens, $${result.cost.total.cost.toFixed(5)}, version ${result.version})`,
  );
  if (hub && options.keep) {
    console.log('The inspector stays up; Ctrl-C stops.');
    await new Promise((r) => process.once('SIGINT', r));
  }
  await runtime.close();
  return result.outcome === 'completed' || result.outcome === 'quiescent' ? 0 : 1;
}
