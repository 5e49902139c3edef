import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { FileStore, type LogEvent, logFileOf, readLog, readSnapshots } from '../blackboard/index.js';
import {
  caseFromLog,
  compareReports,
  describeRegression,
  type EvalReport,
  type EvalSuite,
  formatReport,
  parseReport,
  progressBar,
  type RunSuiteOptions,
  runSuite,
  writeCase,
} from '../evals/index.js';
import { TOPICS } from '../protocol/topics.js';
import { CliError, importModule } from './load.js';
import { ProgressLine, processIO, type TerminalIO } from './progress.js';
import { boardAt } from './replay.js';

export const evalUsage = `Usage:
  hearsay eval <suite.ts|js> [--repeat <n>] [--concurrency <n>] [--only <id,id>] [--json <out.json>]
                             [--baseline <report.json>] [--threshold <fraction>] [--cost-threshold <ratio>]
  hearsay eval --from-log <dir> <runId> --into <cases-dir> [--id <caseId>]

Runs a suite's cases (each --repeat times, --concurrency at once), scores them, prints a table with pass
rate, tokens, cost and p50/p95 latency per case, and writes the report as JSON with --json. With
--baseline, exits 1 when pass rate drops by more than --threshold (a fraction: default 0.05, five points)
or cost per run rises by more than --cost-threshold (default 0.25) against that earlier report; with
--only, only the cases run are compared. On a terminal a progress bar is drawn (and cleared before the
report; none when output goes to a pipe or a CI log); Ctrl-C stops starting runs and exits 130.

With --from-log, turns a run recorded in a FileStore into a case that replays it offline (its input,
outcome, final board and every model answer) and writes it into the suite's cases folder.`;

interface EvalOptions {
  readonly repeat?: string | undefined;
  readonly concurrency?: string | undefined;
  readonly only?: string | undefined;
  readonly json?: string | undefined;
  readonly baseline?: string | undefined;
  readonly threshold?: string | undefined;
  readonly 'cost-threshold'?: string | undefined;
  readonly 'from-log'?: boolean | undefined;
  readonly into?: string | undefined;
  readonly id?: string | undefined;
}

const positiveInt = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new CliError(`--${name} must be a positive integer, not "${v}".`, 2);
  return n;
};

const ratio = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0)
    throw new CliError(`--${name} must be a non-negative number, not "${v}".`, 2);
  return n;
};

export async function evalCommand(args: readonly string[], options: EvalOptions): Promise<number> {
  if (options['from-log']) return fromLog(args, options);
  const [file] = args;
  if (!file) throw new CliError(`hearsay eval: which suite? (${evalUsage.split('\n')[1]!.trim()})`, 2);
  const repeat = positiveInt('repeat', options.repeat);
  const concurrency = positiveInt('concurrency', options.concurrency);
  const passRate = ratio('threshold', options.threshold);
  const cost = ratio('cost-threshold', options['cost-threshold']);
  const thresholds = {
    ...(passRate === undefined ? {} : { passRate }),
    ...(cost === undefined ? {} : { cost }),
  };
  // Read the baseline first: a bad one is an error before minutes of running.
  const baseline = options.baseline
    ? parseReport(
        await readFile(options.baseline, 'utf8').catch(() => {
          throw new CliError(`No such baseline: ${options.baseline}`, 2);
        }),
        options.baseline,
      )
    : undefined;
  const mod = await importModule(file);
  const suite = (mod.default ?? mod.suite) as EvalSuite | undefined;
  if (!suite || typeof suite !== 'object' || !Array.isArray(suite.cases) || typeof suite.run !== 'function')
    throw new CliError(`${file} exports no suite (export default defineSuite({...})).`, 2);
  const report = await runSuiteWithProgress(suite, {
    ...(repeat ? { repeat } : {}),
    ...(concurrency ? { concurrency } : {}),
    ...(options.only ? { only: options.only.split(',').map((s) => s.trim()) } : {}),
  });
  console.log(formatReport(report));
  if (options.json) {
    await writeFile(options.json, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`report written to ${options.json}`);
  }
  if (baseline) {
    const regressions = compareReports(report, baseline, thresholds, {
      ...(options.only ? { only: report.cases.map((c) => c.id) } : {}),
    });
    if (regressions.length > 0) {
      console.log(`\n${regressions.length} regression(s) against ${options.baseline}:`);
      for (const r of regressions) console.log(`  ${describeRegression(r)}`);
      return 1;
    }
    console.log(`\nno regression against ${options.baseline}`);
  }
  return 0;
}

/**
 * Runs a suite with a progress bar on the terminal (redrawn in place, cleared before the report, on an
 * error and on Ctrl-C); nothing is drawn off a terminal. Ctrl-C stops starting runs and fails the command.
 */
export async function runSuiteWithProgress<TInput, TOutput>(
  suite: EvalSuite<TInput, TOutput>,
  options: Omit<RunSuiteOptions, 'onProgress' | 'signal'>,
  io: TerminalIO = processIO,
): Promise<EvalReport> {
  const progress = new ProgressLine(io.progress);
  const interrupt = new AbortController();
  const stop = () => {
    progress.clear();
    interrupt.abort();
  };
  io.signals.once('SIGINT', stop);
  let report: EvalReport;
  try {
    report = await runSuite(suite, {
      ...options,
      signal: interrupt.signal,
      onProgress: (done, total, run) => {
        if (!interrupt.signal.aborted)
          progress.show(
            `${progressBar(done, total)} ${run.caseId}#${run.repetition} ${run.pass ? 'pass' : 'FAIL'}`,
          );
      },
    });
  } finally {
    io.signals.off('SIGINT', stop);
    progress.clear();
  }
  if (interrupt.signal.aborted)
    throw new CliError(`interrupted (SIGINT) after ${report.overall.runs} run(s); no report written.`, 130);
  return report;
}

async function fromLog(args: readonly string[], options: EvalOptions): Promise<number> {
  const [dir, runId] = args;
  if (!dir || !runId || !options.into)
    throw new CliError('hearsay eval --from-log <dir> <runId> --into <cases-dir> [--id <caseId>]', 2);
  const store = new FileStore({ dir });
  const known = await store.listRuns();
  await store.close();
  if (!known.includes(runId)) throw new CliError(`No run ${runId} in ${dir}.`);
  const { events } = readLog(await readFile(logFileOf(dir, runId)));
  const last = events.findLast((e) => e.type === 'commit');
  const finalBoard = boardAt(
    await readSnapshots(dir, runId),
    events,
    last?.type === 'commit' ? last.version : 0,
  );
  // Child runs' model answers replay too: the child teams get the same replay client.
  const childIds = new Set<string>();
  for (const e of events)
    if (e.type === 'message' && e.topic === TOPICS.child)
      childIds.add(String((e.payload as { childRunId?: unknown }).childRunId));
  const childEvents: LogEvent[] = [];
  for (const child of childIds) {
    if (!known.includes(child)) continue;
    childEvents.push(...readLog(await readFile(logFileOf(dir, child))).events);
  }
  const c = caseFromLog(events, { id: options.id ?? runId, finalBoard, extra: childEvents });
  if (!c.recorded?.length) throw new CliError(`Run ${runId} recorded no model answers: nothing to replay.`);
  await mkdir(options.into, { recursive: true });
  const file = await writeCase(options.into, c);
  console.log(
    `case "${c.id}" written to ${file}: input ${JSON.stringify(c.input).slice(0, 80)}, ${c.recorded.length} recorded model answers, expected ${JSON.stringify((c.expected as { outcome?: string }).outcome)}`,
  );
  return 0;
}
