import { spawn } from 'node:child_process';
import { createRuntime } from '../src/runtime/index.js';
import { HubBoard, hubInitial, incrementer } from '../test/fixtures/hub-team.js';
import { type BenchCase, type BenchLine, scriptArgs } from './harness.js';

const TOKEN = 'bench-inspect-token-0123456789';
const COMMITS = 1000;
/** Commits sent first and not measured (JIT, socket buffers and the clients warm up). */
const WARMUP = 200;
/** Offered load: one commit every 2 ms (500 commits/s), paced against drift. */
const INTERVAL_MS = 2;

const now = () => performance.timeOrigin + performance.now();
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const round = (x: number) => Math.round(x * 1000) / 1000;

/**
 * Commits broadcast to `clients` connected clients (in another process, on loopback): every commit's
 * delivery latency to every client, and deliveries per second at the offered load.
 */
async function broadcastOnce(
  clients: number,
): Promise<{ perSecond: number; p50: number; p99: number; deliveries: number }> {
  const runtime = createRuntime({
    board: { schema: HubBoard, initial: hubInitial },
    agents: [incrementer('writer', 600_000)],
  });
  const hub = await runtime.listen({
    tokens: { [TOKEN]: 'inspect' },
    log: () => {},
    rateLimit: { perSecond: 1e6, burst: 1e6 },
  });
  const gate = new AbortController();
  const run = await runtime.start({ go: true }, { signal: gate.signal });
  const firstMeasured = run.board.version + WARMUP + 1;
  const lastVersion = run.board.version + WARMUP + COMMITS;
  const child = spawn(
    process.execPath,
    [...scriptArgs('bench/hub-clients'), hub.url, TOKEN, run.runId, String(clients), String(lastVersion)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      if (d.toString().includes('subscribed')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`clients exited early (${code})`)));
  });
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const sent = new Map<number, number>();
  const start = now();
  for (let i = 0; i < WARMUP + COMMITS; i++) {
    const due = start + i * INTERVAL_MS;
    const wait = due - now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const t = now();
    const r = await run.board.commit({
      baseVersion: run.board.version,
      reads: [],
      patches: [{ op: 'replace', path: ['n'], value: i }],
      author: 'writer',
    });
    if (!r.ok) throw new Error(r.error.message);
    sent.set(r.event.version, t);
  }
  await done;
  const arrivals = (JSON.parse(out) as [number, number][]).filter(([v]) => v >= firstMeasured);
  if (arrivals.length !== clients * COMMITS)
    throw new Error(`broadcast.${clients}: ${arrivals.length} deliveries, expected ${clients * COMMITS}`);
  const latencies = arrivals.map(([v, t]) => t - sent.get(v)!).sort((a, b) => a - b);
  const firstSent = sent.get(firstMeasured)!;
  const elapsedS = (Math.max(...arrivals.map(([, t]) => t)) - firstSent) / 1000;
  gate.abort();
  await runtime.close();
  return {
    perSecond: arrivals.length / elapsedS,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    deliveries: arrivals.length,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Five paced runs: the median delivery rate (min/max its spread), and the median p50/p99 latencies. */
async function broadcast(clients: number): Promise<BenchLine> {
  const runs = [];
  for (let i = 0; i < 5; i++) runs.push(await broadcastOnce(clients));
  const rates = runs.map((r) => r.perSecond);
  return {
    group: 'hub',
    case: `broadcast.${clients}`,
    metric: 'msgs_per_s',
    value: Math.round(median(rates)),
    runs: runs.length,
    min: Math.round(Math.min(...rates)),
    max: Math.round(Math.max(...rates)),
    p50_ms: round(median(runs.map((r) => r.p50))),
    p99_ms: round(median(runs.map((r) => r.p99))),
    deliveries: runs[0]!.deliveries,
    offered_commits_per_s: 1000 / INTERVAL_MS,
  };
}

export const hubCases: BenchCase[] = [1, 10, 100].map((clients) => ({
  group: 'hub',
  name: `broadcast.${clients}`,
  run: () => broadcast(clients),
}));
