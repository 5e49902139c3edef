/**
 * `npm run bench:peers`: Hearsay and LangGraph JS side by side on bench-peers/WORKLOADS.md's W1–W4, in the
 * same benchmark run, interleaved: for every (workload, size), the LangGraph script and the Hearsay
 * script, each in a fresh `node --expose-gc` process with the same protocol (2 warm-ups, 7 timed runs,
 * every run verified). Prints the markdown table of the issue (medians, min–max, the ratio, the target)
 * and writes every script's JSON line to a results file outside git.
 *
 * - The peers folder: `BENCH_PEERS_DIR`, else `../shared/bench-peers` beside the repository; without it,
 *   says so and exits 2. It is copied to node_modules/.cache/hearsay-bench-peers (it may be read-only),
 *   where `npm ci` installs LangGraph's pinned packages once (again only when its lock file changes).
 * - `ROUNDS=n` (default 1): n interleaved rounds (who goes first alternates); the table then shows the
 *   median of the rounds' medians and the min and max over all runs. `QUICK=1`: 1 warm-up and 2 runs per
 *   script, for a smoke test only. Arguments name cases to run (`w2.k100 w3.c50r20`), default all.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { root, scriptArgs } from './harness.js';
import {
  quickArgs,
  runScript,
  type ScriptRun,
  WORKLOAD_CASES,
  type WorkloadCase,
} from './workloads/cases.js';
import type { Stats } from './workloads/protocol.js';

const SCRIPT_TIMEOUT_MS = 30 * 60_000;

const peersDir = resolve(process.env.BENCH_PEERS_DIR ?? join(root, '../shared/bench-peers'));
const lgSource = join(peersDir, 'peers/langgraph');
if (!existsSync(join(peersDir, 'harness/harness.mjs')) || !existsSync(join(lgSource, 'package-lock.json'))) {
  console.error(
    `No bench-peers folder at ${peersDir} (expected harness/harness.mjs and peers/langgraph/package-lock.json).\n` +
      'Set BENCH_PEERS_DIR to the folder that holds WORKLOADS.md, harness/ and peers/langgraph/.',
  );
  process.exit(2);
}

const cache = join(root, 'node_modules/.cache/hearsay-bench-peers');
const copy = join(cache, 'bench-peers');
const lgDir = join(copy, 'peers/langgraph');
mkdirSync(cache, { recursive: true });
cpSync(peersDir, copy, {
  recursive: true,
  force: true,
  filter: (src) => !/[\\/](node_modules|results)([\\/]|$)/.test(src.slice(peersDir.length)),
});

// npm ci once per lock file.
const lockHash = createHash('sha256')
  .update(readFileSync(join(lgDir, 'package-lock.json')))
  .digest('hex');
const stamp = join(lgDir, 'node_modules/.hearsay-installed');
if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== lockHash) {
  console.error(`installing LangGraph's packages (npm ci in ${lgDir})…`);
  const ci = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: lgDir, stdio: ['ignore', 2, 2] });
  if (ci.status !== 0) {
    console.error(`npm ci failed in ${lgDir} (exit ${ci.status}); is the npm registry reachable?`);
    process.exit(1);
  }
  writeFileSync(stamp, lockHash);
}

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const unknown = wanted.filter((w) => !WORKLOAD_CASES.some((c) => c.id === w));
if (unknown.length > 0) {
  console.error(
    `Unknown case(s) ${unknown.join(', ')}. Cases: ${WORKLOAD_CASES.map((c) => c.id).join(', ')}`,
  );
  process.exit(2);
}
const cases = WORKLOAD_CASES.filter((c) => wanted.length === 0 || wanted.includes(c.id));
const rounds = Math.max(1, Number(process.env.ROUNDS ?? 1) || 1);

const resultsDir = join(cache, 'results');
mkdirSync(resultsDir, { recursive: true });
const stampName = new Date().toISOString().replace(/[:.]/g, '-');
const resultsFile = join(resultsDir, `peers-${stampName}.jsonl`);
writeFileSync(resultsFile, '');

type Peer = 'langgraph' | 'hearsay';
const runs = new Map<string, Record<Peer, ScriptRun[]>>();

function command(peer: Peer, c: WorkloadCase): string[] {
  const args = [...c.args, ...quickArgs()];
  return peer === 'langgraph'
    ? [join(lgDir, `${c.script}.mjs`), ...args]
    : [...scriptArgs(`bench/workloads/${c.script}`), ...args];
}

let failures = 0;
for (let round = 0; round < rounds; round++) {
  for (const c of cases) {
    const order: Peer[] = round % 2 === 0 ? ['langgraph', 'hearsay'] : ['hearsay', 'langgraph'];
    const slot = runs.get(c.id) ?? { langgraph: [], hearsay: [] };
    runs.set(c.id, slot);
    for (const peer of order) {
      console.error(`round ${round + 1}/${rounds}: ${c.id} ${peer}…`);
      const run = await runScript(command(peer, c), {
        cwd: peer === 'langgraph' ? lgDir : root,
        timeoutMs: SCRIPT_TIMEOUT_MS,
      });
      slot[peer].push(run);
      appendFileSync(
        resultsFile,
        `${JSON.stringify({ round: round + 1, case: c.id, peer, ok: run.ok, exit: run.code, wallMs: Math.round(run.ms), line: run.line ?? null, ...(run.ok ? {} : { stderrTail: run.stderr.slice(-3000) }) })}\n`,
      );
      if (!run.ok) {
        failures++;
        console.error(
          `${c.id} ${peer} FAILED (exit ${run.code}${run.line ? ', check not ok' : ''}); stderr tail:\n${run.stderr.slice(-3000)}`,
        );
      }
    }
  }
}

// ---- the table ----------------------------------------------------------------------------------------

type Line = Record<string, unknown>;
const metricsOf = (line: Line, variant?: string) => {
  const m = line.metrics as Record<string, Stats & Record<string, Stats>>;
  return (variant ? m[variant] : m) as Record<string, Stats>;
};

/** One figure over the rounds: the median of the medians, the min of the mins, the max of the maxes. */
function combine(lines: Line[], get: (line: Line) => Stats): Stats {
  const s = lines.map(get);
  const med = s.map((x) => x.median).sort((a, b) => a - b);
  const n = med.length;
  return {
    median: n % 2 ? med[(n - 1) / 2]! : (med[n / 2 - 1]! + med[n / 2]!) / 2,
    min: Math.min(...s.map((x) => x.min)),
    max: Math.max(...s.map((x) => x.max)),
  };
}

const num = (x: number) =>
  x >= 100 ? Math.round(x).toLocaleString('en-US') : x >= 10 ? x.toFixed(1) : x.toPrecision(2);
const fmt = (s: Stats, unit: string) => `${num(s.median)}${unit} (${num(s.min)}–${num(s.max)})`;
const times = (r: number) => (r >= 1 ? `${r.toFixed(2)}× faster` : `${(1 / r).toFixed(2)}× **slower**`);

interface Row {
  readonly label: string;
  readonly caseId: string;
  /** The cell's text for one peer's lines. */
  cell(lines: Line[], peer: Peer): string;
  /** Hearsay's advantage (> 1: Hearsay better) from both peers' lines. */
  ratio(lg: Line[], hs: Line[]): number;
  readonly target: number;
  readonly targetText: string;
}

function rowsFor(c: WorkloadCase): Row[] {
  const p = Object.fromEntries(c.args.map((a) => a.replace(/^--/, '').split('='))) as Record<string, string>;
  switch (c.script) {
    case 'w1-chain': {
      const total = (ls: Line[]) => combine(ls, (l) => metricsOf(l).totalMs!);
      return [
        {
          label: `W1 chain, ${Number(p.n).toLocaleString('en-US')} steps`,
          caseId: c.id,
          cell: (ls) => fmt(total(ls), ' ms'),
          ratio: (lg, hs) => total(lg).median / total(hs).median,
          target: 3,
          targetText: '≥ 3× faster',
        },
      ];
    }
    case 'w2-fanout': {
      const L = Number(p.l);
      const make = (ls: Line[]) => combine(ls, (l) => metricsOf(l).makespanMs!);
      const over = (ls: Line[]) => combine(ls, (l) => metricsOf(l).ratio!);
      return [
        {
          label: `W2 fan-out, K=${Number(p.k).toLocaleString('en-US')} pooled workers, ${L} ms each`,
          caseId: c.id,
          cell: (ls) => `${fmt(make(ls), ' ms')}, ${num(over(ls).median)}× critical path`,
          // time above the critical path (makespan − L)
          ratio: (lg, hs) => (make(lg).median - L) / (make(hs).median - L),
          target: 3,
          targetText: '≥ 3× less time above the critical path',
        },
      ];
    }
    case 'w3-contention': {
      const ups = (ls: Line[]) => combine(ls, (l) => metricsOf(l).updatesPerSec!);
      return [
        {
          label: `W3 ${p.c} branches × ${p.r} read-modify-writes of one counter`,
          caseId: c.id,
          cell: (ls, peer) => {
            const base = fmt(ups(ls), ' updates/s');
            if (peer === 'langgraph') return `${base}, summing reducer (no read)`;
            const apu = combine(ls, (l) => metricsOf(l).attemptsPerUpdate!);
            return `${base}, ${num(apu.median)} attempts/update`;
          },
          ratio: (lg, hs) => ups(hs).median / ups(lg).median,
          target: 2,
          targetText: '≥ 2× the updates/s',
        },
      ];
    }
    case 'w4-bigstate': {
      const s = Number(p.s).toLocaleString('en-US');
      const row = (variant: 'noCheckpointer' | 'memorySaver', what: string): Row => {
        const per = (ls: Line[]) => combine(ls, (l) => metricsOf(l, variant).usPerStep!);
        return {
          label: `W4 one entry of a ${s}-entry record per step, ${what}`,
          caseId: c.id,
          cell: (ls) => {
            const x = per(ls);
            return fmt({ median: x.median / 1000, min: x.min / 1000, max: x.max / 1000 }, ' ms/step');
          },
          ratio: (lg, hs) => per(lg).median / per(hs).median,
          target: 3,
          targetText: '≥ 3× faster',
        };
      };
      return [
        row('noCheckpointer', 'no checkpoint (MemoryStore)'),
        row('memorySaver', 'checkpoint per step (MemorySaver / FileStore)'),
      ];
    }
  }
}

const out: string[] = [
  '| workload (bench-peers/WORKLOADS.md) | LangGraph median (min–max) | Hearsay median (min–max) | Hearsay vs LangGraph | target |',
  '|---|---|---|---|---|',
];
for (const c of cases) {
  const slot = runs.get(c.id)!;
  const lg = slot.langgraph.filter((r) => r.ok).map((r) => r.line!);
  const hs = slot.hearsay.filter((r) => r.ok).map((r) => r.line!);
  const failed = (peer: Peer) => {
    const bad = slot[peer].filter((r) => !r.ok);
    return bad.length === 0 ? '' : ` (failed ${bad.length} of ${slot[peer].length}: exit ${bad[0]!.code})`;
  };
  for (const row of rowsFor(c)) {
    const lgCell =
      lg.length > 0 ? row.cell(lg, 'langgraph') + failed('langgraph') : `failed${failed('langgraph')}`;
    const hsCell = hs.length > 0 ? row.cell(hs, 'hearsay') + failed('hearsay') : `failed${failed('hearsay')}`;
    let vs = '—';
    let target = row.targetText;
    if (lg.length > 0 && hs.length > 0) {
      const r = row.ratio(lg, hs);
      vs = times(r);
      target += r >= row.target ? ' ✓' : ' ✗';
    }
    out.push(`| ${row.label} | ${lgCell} | ${hsCell} | ${vs} | ${target} |`);
  }
}

const anyLg = [...runs.values()].flatMap((s) => s.langgraph).find((r) => r.line)?.line;
const anyHs = [...runs.values()].flatMap((s) => s.hearsay).find((r) => r.line)?.line;
const note = [
  '',
  `${rounds} interleaved round(s)${process.env.QUICK === '1' ? ', QUICK (1 warm-up, 2 runs: not for reporting)' : ', 2 warm-ups + 7 timed runs per script'}; ` +
    `LangGraph ${JSON.stringify(anyLg?.versions ?? {})}, Hearsay ${JSON.stringify(anyHs?.versions ?? {})}; ` +
    `node ${process.version}, ${JSON.stringify((anyHs?.env as { cpus?: number } | undefined)?.cpus ?? '?')} cpus.`,
];
const table = [...out, ...note].join('\n');
console.log(table);
writeFileSync(resultsFile.replace(/\.jsonl$/, '.md'), `${table}\n`);
console.error(`\nraw JSON lines: ${resultsFile}`);
process.exit(failures > 0 ? 1 : 0);
