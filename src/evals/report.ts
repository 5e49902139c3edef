import { z } from 'zod';
import type { EvalReport } from './run-suite.js';

const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
const money = (x: number) => `$${x.toFixed(x > 0 && x < 0.01 ? 5 : 4)}`;

/**
 * The report as a terminal table: one row per case (pass rate, runs, tokens, cost, latency, failed
 * scorers and errors), then the overall row.
 *
 * @example
 * import { formatReport, runSuite } from 'hearsay/evals';
 *
 * console.log(formatReport(await runSuite(suite)));
 */
export function formatReport(report: EvalReport): string {
  const rows: string[][] = [['case', 'pass', 'runs', 'tokens', 'cost', 'p50 ms', 'p95 ms', 'failed scorers']];
  for (const c of report.cases) {
    const failing = Object.entries(c.scorers)
      .filter(([, rate]) => rate < 1)
      .map(([name, rate]) => `${name} (${pct(rate)})`);
    const errors = [...new Set(c.results.flatMap((r) => (r.error ? [r.error] : [])))];
    rows.push([
      c.id,
      pct(c.passRate),
      String(c.runs),
      String(c.tokens),
      money(c.cost),
      String(c.latency.p50),
      String(c.latency.p95),
      [...failing, ...errors.map((e) => `error: ${e}`)].join('; ').slice(0, 120),
    ]);
  }
  const o = report.overall;
  rows.push([
    'overall',
    pct(o.passRate),
    String(o.runs),
    String(o.tokens),
    money(o.cost),
    String(o.latency.p50),
    String(o.latency.p95),
    '',
  ]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((cell, i) => (i === 0 || i === r.length - 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [
    `suite ${report.suite}: ${o.passed}/${o.runs} passed (${pct(o.passRate)}) in ${(report.durationMs / 1000).toFixed(1)} s`,
    line(rows[0]!),
    rule,
    ...rows.slice(1, -1).map(line),
    rule,
    line(rows.at(-1)!),
  ].join('\n');
}

/** A one-line progress bar: `[######------] 12/40`. */
export function progressBar(done: number, total: number, width = 30): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}`;
}

/** How much worse a report may be than its baseline before it is a regression. */
export interface Thresholds {
  /** A drop in pass rate (0..1) beyond this is a regression (default 0.05: five points). */
  readonly passRate?: number;
  /** A relative rise in cost per run beyond this is a regression (default 0.25: a quarter more). */
  readonly cost?: number;
  /** A relative rise in p95 latency beyond this is a regression (default: latency is not compared). */
  readonly latencyP95?: number;
}

/** One way a report is worse than its baseline. */
export interface Regression {
  readonly case: string;
  readonly metric: 'passRate' | 'cost' | 'latencyP95' | 'missing';
  readonly baseline: number;
  readonly current: number;
}

/**
 * Compares a report with a baseline report: per case and overall, a pass rate lower by more than the
 * threshold, a cost per run (or, when asked, p95 latency) higher by more than the threshold, or a baseline
 * case that is gone. An empty list means no regression.
 *
 * @example
 * import { readFile } from 'node:fs/promises';
 * import { compareReports, parseReport, runSuite } from 'hearsay/evals';
 *
 * const baseline = parseReport(await readFile('evals/baseline.json', 'utf8'), 'evals/baseline.json');
 * const regressions = compareReports(await runSuite(suite), baseline, { passRate: 0.1, cost: 0.5 });
 * for (const r of regressions) console.error(`${r.case}: ${r.metric} ${r.baseline} -> ${r.current}`);
 */
export function compareReports(
  report: EvalReport,
  baseline: EvalReport,
  thresholds: Thresholds = {},
  options: { readonly only?: readonly string[] } = {},
): Regression[] {
  const passDrop = thresholds.passRate ?? 0.05;
  const costRise = thresholds.cost ?? 0.25;
  const out: Regression[] = [];
  type Totals = { runs: number; passRate: number; cost: number; latency: { p95: number } };
  // Cost is compared per run: a report with more repetitions is not a regression for that.
  const perRun = (t: Totals) => (t.runs > 0 ? t.cost / t.runs : 0);
  const compare = (id: string, now: Totals, was: Totals) => {
    if (was.passRate - now.passRate > passDrop + 1e-9)
      out.push({ case: id, metric: 'passRate', baseline: was.passRate, current: now.passRate });
    if (perRun(was) > 0 && (perRun(now) - perRun(was)) / perRun(was) > costRise)
      out.push({ case: id, metric: 'cost', baseline: perRun(was), current: perRun(now) });
    if (
      thresholds.latencyP95 !== undefined &&
      was.latency.p95 > 0 &&
      (now.latency.p95 - was.latency.p95) / was.latency.p95 > thresholds.latencyP95
    )
      out.push({ case: id, metric: 'latencyP95', baseline: was.latency.p95, current: now.latency.p95 });
  };
  // With `only`, the report ran those cases on purpose: the others are not missing, and its overall (of a
  // part of the suite) is not comparable with the baseline's (of all of it).
  const only = options.only ? new Set(options.only) : undefined;
  for (const was of baseline.cases) {
    if (only && !only.has(was.id)) continue;
    const now = report.cases.find((c) => c.id === was.id);
    if (!now) out.push({ case: was.id, metric: 'missing', baseline: was.passRate, current: 0 });
    else compare(was.id, now, was);
  }
  if (!only) compare('overall', report.overall, baseline.overall);
  return out;
}

/** One line per regression, for the terminal. */
export function describeRegression(r: Regression): string {
  if (r.metric === 'missing') return `${r.case}: in the baseline, not in this run`;
  const show = r.metric === 'passRate' ? pct : r.metric === 'cost' ? money : (x: number) => `${x} ms`;
  return `${r.case}: ${r.metric === 'cost' ? 'cost per run' : r.metric} ${show(r.baseline)} -> ${show(r.current)}`;
}

const latency = z.object({ p50: z.number(), p95: z.number() });
const totals = { passRate: z.number(), tokens: z.number(), cost: z.number(), latency };
const BaselineSchema = z
  .object({
    suite: z.string(),
    cases: z.array(z.object({ id: z.string(), runs: z.number(), ...totals }).loose()),
    overall: z.object({ runs: z.number(), ...totals }).loose(),
  })
  .loose();

/**
 * Reads a report written as JSON (a baseline for {@link compareReports}); a text that is not one throws a
 * `TypeError` naming `source` and the problem.
 *
 * @example
 * import { readFile, writeFile } from 'node:fs/promises';
 * import { parseReport, runSuite } from 'hearsay/evals';
 *
 * await writeFile('evals/baseline.json', JSON.stringify(await runSuite(suite)));
 * const baseline = parseReport(await readFile('evals/baseline.json', 'utf8'), 'evals/baseline.json');
 */
export function parseReport(text: string, source = 'the baseline'): EvalReport {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new TypeError(`${source} is not JSON: ${(error as Error).message}`);
  }
  const parsed = BaselineSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new TypeError(
      `${source} is not an eval report: ${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
  }
  return parsed.data as unknown as EvalReport;
}
