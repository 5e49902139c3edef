/**
 * W4 big state — Hearsay. See ../shared/bench-peers/WORKLOADS.md.
 * Usage: node --expose-gc dist/bench/workloads/w4-bigstate.js [--s=10000] [--t=200] [--warmup=2] [--reps=7]
 *        [--memprobes=3] [--record=1]
 *
 * The record is a `keyed` collection, as the README teaches for a large map of entries. One singleton
 * agent, `tick` (`stepMachine`), watches `step`; each step reads `step` on the board it saw, adds 1 to
 * the `v` of entry `e((k*7919) mod S)` (immer: a new entry, the rest shared) and commits `step + 1`.
 * The S-entry record is built once per process as a plain object and given to the runtime as the board's
 * initial state (the board turns it into a `Keyed` when each run's board is created, inside the timed run).
 *
 * Variants: `noCheckpointer` — the default `MemoryStore` (which, like every store, already keeps the
 * whole log: any step can be restored with `board.at(version)`); `memorySaver` — the closest durable
 * equivalent of a checkpoint per step: a `FileStore` in a fresh temp dir per run, `fsync: 'never'` (every
 * commit is written to the file before it is acknowledged, as MemorySaver's write is awaited; no fsync,
 * since MemorySaver keeps nothing across a power loss either). `info.fileStoreFsyncAlways` is the same with
 * the FileStore's default `fsync: 'always'`; `info.plainRecord` is the same team on a plain
 * `z.record(...)` instead of `keyed(...)` (no checkpoint).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRuntime, defineAgent, FileStore, keyed, type Store, stepMachine } from 'hearsay';
import { z } from 'zod';
import {
  emit,
  envInfo,
  MemPeak,
  main,
  measure,
  now,
  PEER,
  parseArgs,
  peerVersions,
  processWarnings,
  round,
  stats,
} from './protocol.js';
import { verifyBigState, verifyOutcome } from './verify.js';

const Entry = z.object({ id: z.number(), v: z.number(), tag: z.string() });
type Entry = z.output<typeof Entry>;
const KeyedBoard = z.object({ entries: keyed(Entry), step: z.number() });
const RecordBoard = z.object({ entries: z.record(z.string(), Entry), step: z.number() });

/** Set in a memory probe: sampled inside every step and after the run. */
let memPeak: MemPeak | undefined;

export function makeEntries(s: number): Record<string, Entry> {
  const entries: Record<string, Entry> = {};
  for (let i = 0; i < s; i++) entries[`e${i}`] = { id: i, v: 0, tag: `t${i % 16}` };
  return entries;
}

/** The team on a `keyed` record (the README's way) or on a plain record. */
export function buildBigState(
  s: number,
  t: number,
  initial: Record<string, Entry>,
  options: { store?: Store; record?: 'keyed' | 'plain' } = {},
) {
  const keyFor = (step: number) => `e${(step * 7919) % s}`;
  const limits = { depth: t + 2, maxActivations: t + 10 }; // T steps, each enabled by the previous one
  const store = options.store ? { store: options.store } : {};
  if (options.record === 'plain') {
    type B = z.output<typeof RecordBoard>;
    const tick = defineAgent<B>({
      id: 'tick',
      watches: [['step']],
      writes: [['step'], ['entries']],
      machine: stepMachine<B, void>({
        when: (b) => b.step < t,
        work: async () => {},
        done: (d) => {
          memPeak?.sample();
          d.entries[keyFor(d.step)]!.v += 1;
          d.step += 1;
        },
      }),
    });
    return createRuntime({
      board: { schema: RecordBoard, initial: { entries: initial, step: 0 } },
      agents: [tick],
      goal: (b) => b.step === t,
      limits,
      ...store,
    });
  }
  type B = z.output<typeof KeyedBoard>;
  const tick = defineAgent<B>({
    id: 'tick',
    watches: [['step']],
    writes: [['step'], ['entries']],
    machine: stepMachine<B, void>({
      when: (b) => b.step < t,
      work: async () => {},
      done: (d) => {
        memPeak?.sample();
        d.entries.get(keyFor(d.step))!.v += 1;
        d.step += 1;
      },
    }),
  });
  return createRuntime({
    board: { schema: KeyedBoard, initial: { entries: initial, step: 0 } },
    agents: [tick],
    goal: (b) => b.step === t,
    limits,
    ...store,
  });
}

type Variant = 'noCheckpointer' | 'memorySaver' | 'fsyncAlways' | 'plainRecord';

/** A fresh store per run for the durable variants (in a fresh temp dir), none for the others. */
function storeFor(variant: Variant): { store?: Store; dir?: string } {
  if (variant === 'noCheckpointer' || variant === 'plainRecord') return {};
  const dir = mkdtempSync(join(tmpdir(), 'hearsay-w4-'));
  return { store: new FileStore({ dir, fsync: variant === 'fsyncAlways' ? 'always' : 'never' }), dir };
}

await main(async () => {
  const args = parseArgs({ s: 10_000, t: 200, warmup: 2, reps: 7, memprobes: 3, memprobe: 0, variant: '' });
  const S = args.s;
  const T = args.t;
  const initial = makeEntries(S);

  const build = (variant: Variant, store?: Store) =>
    buildBigState(S, T, initial, {
      ...(store ? { store } : {}),
      record: variant === 'plainRecord' ? 'plain' : 'keyed',
    });

  // ---- memory probe (child process mode): one run, peaks sampled in every step ----
  if (args.memprobe) {
    const variant = args.variant as Variant;
    const { store, dir } = storeFor(variant);
    const runtime = build(variant, store);
    memPeak = new MemPeak();
    const result = await runtime.run();
    memPeak.sample();
    verifyOutcome(result, 'completed');
    verifyBigState(result.board, S, T);
    const deltas = memPeak.deltasMB();
    const probe = memPeak;
    memPeak = undefined;
    // The runtime and its store (with the run's log) are still referenced: retained includes them.
    const retained = probe.retainedMB();
    process.stdout.write(`${JSON.stringify({ ...deltas, ...retained })}\n`);
    await runtime.close();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    return;
  }

  // ---- the floor: the same T immutable updates by hand on the plain object ----
  const keyFor = (step: number) => `e${(step * 7919) % S}`;
  const baseline = await measure({
    warmup: args.warmup,
    reps: args.reps,
    run: async () => {
      const t0 = now();
      let x = initial;
      for (let step = 0; step < T; step++) {
        const k = keyFor(step);
        x = { ...x, [k]: { ...x[k]!, v: x[k]!.v + 1 } };
      }
      const totalMs = now() - t0;
      return { metrics: { totalMs, usPerStep: (totalMs * 1000) / T }, result: x };
    },
    verify: (x) => verifyBigState({ entries: x, step: T }, S, T),
  });

  const variants: Record<string, Record<string, unknown>> = {};
  for (const variant of ['noCheckpointer', 'memorySaver', 'fsyncAlways', 'plainRecord'] as const) {
    let runtime = build(variant);
    let dir: string | undefined;
    let store: Store | undefined;
    const res = await measure({
      warmup: args.warmup,
      reps: args.reps,
      setup: async () => {
        // A fresh store per run for the durable variants (a new runtime on it, built outside the timing).
        if (variant === 'memorySaver' || variant === 'fsyncAlways') {
          ({ store, dir } = storeFor(variant));
          runtime = build(variant, store);
        }
      },
      run: async () => {
        const t0 = now();
        const handle = await runtime.start(); // resolves once the run's board is created
        const t1 = now();
        const result = await handle.result;
        const totalMs = now() - t0;
        // boardCreateMs: validating, converting and storing the S-entry initial board (part of totalMs).
        return { metrics: { totalMs, usPerStep: (totalMs * 1000) / T, boardCreateMs: t1 - t0 }, result };
      },
      verify: (result) => {
        verifyOutcome(result, 'completed');
        verifyBigState(result.board, S, T);
      },
      teardown: async (_ctx, result) => {
        if (store) {
          await runtime.close();
          await store.close();
          if (dir) rmSync(dir, { recursive: true, force: true });
        } else await runtime.deleteRun(result.runId);
      },
    });
    if (!store) await runtime.close();
    variants[variant] = { ...res.metrics };
  }

  // ---- memory probes in fresh child processes ----
  const self = fileURLToPath(import.meta.url);
  for (const variant of ['noCheckpointer', 'memorySaver'] as const) {
    const probes: Record<string, number>[] = [];
    for (let i = 0; i < args.memprobes; i++) {
      const child = spawnSync(
        process.execPath,
        [...process.execArgv, self, `--s=${S}`, `--t=${T}`, '--memprobe=1', `--variant=${variant}`],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      );
      if (child.status !== 0) throw new Error(`memory probe ${variant} failed: ${child.stderr.slice(-2000)}`);
      probes.push(JSON.parse(child.stdout.trim().split('\n').pop()!) as Record<string, number>);
    }
    if (probes.length === 0) continue;
    for (const k of Object.keys(probes[0]!)) variants[variant]![k] = stats(probes.map((p) => p[k]!));
    variants[variant]!.memProbes = probes.length;
  }

  const median = (v: string) => (variants[v]!.usPerStep as { median: number }).median;
  emit({
    peer: PEER,
    versions: peerVersions(),
    workload: 'W4-bigstate',
    params: { s: S, t: T },
    warmup: args.warmup,
    reps: args.reps,
    metrics: { noCheckpointer: variants.noCheckpointer, memorySaver: variants.memorySaver },
    info: {
      checkpointerSlowdown: round(median('memorySaver') / median('noCheckpointer'), 2),
      baselineRecordCopy: baseline.metrics,
      frameworkOverheadUsPerStep: round(
        median('noCheckpointer') - (baseline.metrics.usPerStep as { median: number }).median,
        1,
      ),
      fileStoreFsyncAlways: variants.fsyncAlways,
      plainRecord: variants.plainRecord,
      update:
        "one singleton agent (stepMachine) watching step; each step's commit: entries.get(e((k*7919) mod S)).v += 1 and step += 1 on an immer draft of a keyed collection (a new entry, the rest shared); plainRecord: the same on z.record",
      checkpointer:
        "noCheckpointer: MemoryStore (the default; it keeps the whole log, any step restorable with board.at); memorySaver: FileStore in a fresh temp dir per run, fsync 'never' (each commit appended to the run's file before it is acknowledged); fileStoreFsyncAlways: the same with fsync 'always' (the FileStore default)",
      memory:
        'fresh child process per probe; baseline after gc with the initial record built and the runtime created; peak sampled in every step and at the end; retained = after the run and a gc, runtime and store still referenced',
      warnings: processWarnings(),
    },
    check: { ok: true },
    env: envInfo(),
  });
});
