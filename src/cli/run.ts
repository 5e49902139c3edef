import type { LogEvent } from '../blackboard/index.js';
import { PendingApprovalSchema } from '../protocol/index.js';
import { parseRecord } from '../protocol/records.js';
import { createRuntime, type RunHandle, type Runtime, type RuntimeConfig } from '../runtime/index.js';
import { addUsage, emptySpent, TOPICS } from '../scheduler/index.js';
import { describeDeclinedStep, describePending } from './approvals.js';
import { CliError, importModule } from './load.js';
import { ProgressLine, processIO, type TerminalIO } from './progress.js';

export const runUsage = `Usage:
  hearsay run <workflow.ts|js> [--input <json>] [--port <n>] [--no-inspect] [--keep] [--allow-rejected]

Runs a workflow module: its default export is a runtime configuration (what createRuntime takes), and an
optional export "input" is the run's input (--input overrides it, as JSON). Prints a live progress line
on a terminal (activations, tokens, cost; redrawn in place and cleared before the result; none when
output goes to a pipe or a CI log) and the inspector's address (a loopback hub in development mode; --no-inspect
runs without it, --keep keeps it up after the run until Ctrl-C). Each approval request is printed as it
is made, with its id and the commands that answer it through the hub; a run that pauses for one waits
for the answer and goes on. Exits 0 when the run completes or quiesces with every irreversible step it
asked for done; 1 when it ends otherwise, or when an approval was rejected or timed out (the steps not
done are listed) unless --allow-rejected.`;

interface RunOptions {
  readonly input?: string | undefined;
  readonly port?: string | undefined;
  readonly 'no-inspect'?: boolean | undefined;
  readonly keep?: boolean | undefined;
  readonly 'allow-rejected'?: boolean | undefined;
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
  return runWorkflow(file, config, input, options);
}

/** Runs a loaded workflow's configuration with `input`: what `hearsay run` does once the module is loaded. */
export async function runWorkflow(
  file: string,
  config: RuntimeConfig<never>,
  input: unknown,
  options: RunOptions,
  io: TerminalIO = processIO,
): Promise<number> {
  let runtime: ReturnType<typeof createRuntime>;
  try {
    runtime = createRuntime(config);
  } catch (error) {
    throw new CliError(`${file}: ${(error as Error).message}`, 2);
  }
  const progress = new ProgressLine(io.progress);
  try {
    return await watchRun(runtime, input, options, io, progress);
  } finally {
    // On every way out (an error included), the terminal is left without a stale progress line.
    progress.clear();
  }
}

async function watchRun(
  runtime: ReturnType<typeof createRuntime>,
  input: unknown,
  options: RunOptions,
  io: TerminalIO,
  progress: ProgressLine,
): Promise<number> {
  const hub = options['no-inspect']
    ? undefined
    : await runtime.listen({
        port: options.port === undefined ? 0 : Number(options.port),
        insecureDevMode: true,
        log: () => {},
      });
  if (hub) console.log(`inspector: ${hub.inspectorUrl}`);
  let handle = await runtime.start((input ?? {}) as never);
  let activations = 0;
  const spent = emptySpent();
  let interrupted = false;
  const show = () => {
    // Once interrupted, the line stays cleared while the run winds down.
    if (!interrupted)
      progress.show(
        `run ${handle.runId}: ${activations} activations, ${spent.tokens} tokens, $${spent.cost.toFixed(5)}`,
      );
  };
  const announced = new Set<string>();
  let seen = 0;
  const follow = () =>
    handle.board.subscribe({ from: seen + 1 }, (e: LogEvent) => {
      seen = e.seq;
      if (e.type !== 'message') return;
      const p = e.payload as Record<string, unknown>;
      if (e.topic === TOPICS.activation && p.phase === 'started') activations += 1;
      else if (e.topic === TOPICS.usage) {
        const r = parseRecord(TOPICS.usage, e.payload);
        if (r.ok) addUsage(spent, r.record.usage);
      } else if (e.topic === TOPICS.approval && p.phase === 'requested' && e.author === 'scheduler') {
        // Printed once, as it is made, with how to answer it (a resumed run's log repeats nothing).
        if (announced.has(String(p.requestId))) return;
        announced.add(String(p.requestId));
        const pending = PendingApprovalSchema.safeParse({ ...p, runId: handle.runId });
        if (pending.success) progress.above(() => console.log(describePending(pending.data, hub?.url)));
        return;
      } else return;
      show();
    });
  let unfollow = follow();
  const stop = () => {
    interrupted = true;
    progress.clear();
    handle.cancel('interrupted (SIGINT)');
  };
  io.signals.once('SIGINT', stop);
  let result: Awaited<typeof handle.result>;
  try {
    result = await handle.result;
    // A run that paused for a human goes on once answered through the hub (which resumes it): wait for it.
    while (result.outcome === 'awaiting_approval' && hub && !interrupted) {
      progress.above(() =>
        console.log(`run ${handle.runId} is waiting for approval; answer through the hub (Ctrl-C stops).`),
      );
      const resumed = await resumedRun(runtime, handle.runId, () => interrupted);
      if (!resumed) break;
      unfollow();
      handle = resumed;
      unfollow = follow();
      result = await handle.result;
    }
  } finally {
    unfollow();
    io.signals.off('SIGINT', stop);
    progress.clear();
  }
  console.log(
    `${result.outcome}: ${result.reason} (${result.activations} activations, ${result.cost.total.tokens} tokens, $${result.cost.total.cost.toFixed(5)}, version ${result.version})`,
  );
  for (const d of result.declined) console.log(describeDeclinedStep(d));
  for (const w of result.warnings) console.log(`warning: ${w.message}`);
  if (hub && options.keep) {
    console.log('The inspector stays up; Ctrl-C stops.');
    await new Promise((r) => io.signals.once('SIGINT', r));
  }
  await runtime.close();
  const ended = result.outcome === 'completed' || result.outcome === 'quiescent';
  // A human-in-the-loop step that never happened is not success, unless the caller says it may be.
  const declined = result.declined.length > 0 && !options['allow-rejected'];
  if (ended && declined)
    console.log(
      `${result.declined.length} irreversible step(s) were not approved: exit 1 (--allow-rejected exits 0).`,
    );
  return ended && !declined ? 0 : 1;
}

/**
 * The run again once its requests are answered: the hub resumes a paused run when an operator answers it
 * (this finds it running, or resumes it here if the hub's resume has not begun); undefined when
 * interrupted first.
 */
async function resumedRun<TBoard>(
  runtime: Runtime<TBoard>,
  runId: string,
  interrupted: () => boolean,
): Promise<RunHandle<TBoard> | undefined> {
  for (;;) {
    const again = runtime.runs.get(runId);
    if (again) return again;
    if (interrupted()) return undefined;
    if ((await runtime.pendingApprovals(runId)).length === 0) {
      // Answered. A run that already went on and ended resolves with its recorded outcome.
      const resumed = await runtime.resume(runId).catch(() => undefined);
      if (resumed) return resumed;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
