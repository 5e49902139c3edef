import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Draft } from 'immer';
import { createActor, fromPromise, setup } from 'xstate';
import { z } from 'zod';
import { type AgentDefinition, agentActions, type BoardEvent, defineAgent } from '../src/actors/index.js';
import { keyed, type PathOf } from '../src/blackboard/index.js';
import { createRuntime } from '../src/runtime/index.js';
import { type BenchCase, type BenchLine, heapMb, repeat, scriptArgs, summarize } from './harness.js';

const Board = z.object({
  go: z.boolean(),
  step: z.number(),
  out: keyed(z.string()),
  data: keyed(z.object({ n: z.number() })),
});
type B = z.output<typeof Board>;
const { commit } = agentActions<B>();
const execFileAsync = promisify(execFile);
const initial = { go: false, step: 0, out: {}, data: {} };

/** An agent that, when `when` holds, optionally waits `ms` of real time, then commits `write`. */
function agent(
  id: string,
  watches: PathOf<B>[],
  writes: PathOf<B>[],
  when: (b: B) => boolean,
  write: (d: Draft<B>) => void,
  ms = 0,
) {
  const wait = fromPromise(async ({ input }: { input: BoardEvent<B> }) => input.tools.sleep(ms));
  const machine = setup({ types: { events: {} as BoardEvent<B> }, actors: { wait } }).createMachine({
    initial: 'idle',
    states: {
      idle: {
        on: {
          board:
            ms > 0
              ? { guard: ({ event }) => when(event.board), target: 'working' }
              : { guard: ({ event }) => when(event.board), actions: commit(() => write) },
        },
      },
      working: {
        invoke: {
          src: 'wait',
          input: ({ event }) => event as BoardEvent<B>,
          onDone: { target: 'idle', actions: commit(() => write) },
        },
      },
    },
  });
  return defineAgent<B>({ id, machine, watches, writes });
}

/**
 * Untimed runs before the timed ones: enough for about 5,000 activations, so the timed runs see code the
 * JIT has optimised, as in a runtime that has been up for a while (a fresh process's first hundred
 * activations run several times slower, interpreted).
 */
const warmupRuns = (activationsPerRun: number) =>
  COLD ? 2 : Math.max(1, Math.ceil(5_000 / activationsPerRun));

/**
 * Cold: the case as a user's fresh process sees it, 2 warm-up runs (`.cold` cases run each case so in a
 * child process; see {@link coldCase}).
 */
const COLD = process.env.HEARSAY_BENCH_COLD === '1';

/**
 * Runs a team once. `ms` is the run's wall time from `start()` to the outcome; `stepsMs` leaves out
 * the board's creation (validating, freezing and storing the initial state, once per run), which the
 * per-step cases must not charge to their steps; `setupMs` is that creation.
 */
async function runTeam(
  agents: AgentDefinition<B>[],
  opts: { depth: number; concurrency: number; initialState?: unknown; expect: number },
) {
  const runtime = createRuntime({
    board: { schema: Board, initial: opts.initialState ?? initial },
    agents,
    limits: { depth: opts.depth, concurrency: opts.concurrency, maxActivations: 1_000_000 },
  });
  const t0 = process.hrtime.bigint();
  const handle = await runtime.start({ go: true });
  const t1 = process.hrtime.bigint();
  const result = await handle.result;
  const t2 = process.hrtime.bigint();
  // Every run's runtime is closed: runtimes left open kept every earlier run's board, log and actors, and
  // each sample paid for a larger heap than the one before.
  await runtime.close();
  if (result.outcome !== 'quiescent' && result.outcome !== 'depth_exceeded')
    throw new Error(`${result.outcome}: ${result.reason}`);
  if (result.activations < opts.expect)
    throw new Error(`expected ${opts.expect} activations, saw ${result.activations}`);
  const ms = (a: bigint, b: bigint) => Number(b - a) / 1e6;
  return { ms: ms(t0, t2), stepsMs: ms(t1, t2), setupMs: ms(t0, t1), activations: result.activations };
}

function chain(n: number): BenchCase {
  return {
    group: 'scheduler',
    name: `chain.${n}`,
    async run() {
      const agents = Array.from({ length: n }, (_, i) =>
        agent(
          `a${i}`,
          i === 0 ? [['go']] : [['out', `a${i - 1}`]],
          [['out', `a${i}`]],
          (b) => (i === 0 ? b.go : b.out.has(`a${i - 1}`)) && !b.out.has(`a${i}`),
          (d) => {
            d.out.set(`a${i}`, 'done');
          },
        ),
      );
      const stats = await repeat(
        async () => {
          const { stepsMs: ms } = await runTeam(agents, { depth: n + 1, concurrency: 256, expect: n });
          return (ms * 1000) / n;
        },
        { runs: 5, warmup: warmupRuns(n) },
      );
      return {
        group: 'scheduler',
        case: `chain.${n}`,
        metric: 'us_per_activation',
        ...stats,
        activations: n,
      };
    },
  };
}

type FloorEvent = { readonly type: 'board'; readonly go: boolean; readonly out: Map<string, string> };

/**
 * The floor under a fan-out: its agents' machines as bare XState actors, without Hearsay (no board, log,
 * scheduler, records or commits). Each agent's machine, when the board event's guard holds, invokes a
 * promise that waits `latency` ms, and on its done event writes its result into a plain Map.
 */
function floorMachines(n: number, latency: number) {
  const wait = fromPromise(
    ({ input }: { input: FloorEvent }) =>
      new Promise<Map<string, string>>((resolve) => setTimeout(() => resolve(input.out), latency)),
  );
  return Array.from({ length: n }, (_, i) =>
    setup({ types: { events: {} as FloorEvent }, actors: { wait } }).createMachine({
      initial: 'idle',
      states: {
        idle: {
          on: { board: { guard: ({ event }) => event.go && !event.out.has(`w${i}`), target: 'working' } },
        },
        working: {
          invoke: {
            src: 'wait',
            input: ({ event }) => event as FloorEvent,
            onDone: { target: 'idle', actions: ({ event }) => void event.output.set(`w${i}`, 'done') },
          },
        },
      },
    }),
  );
}

/**
 * One run of the floor: an actor per machine, created and started, asked `can`, sent the board event;
 * resolves when every machine is back to idle with its result written. Returns the makespan in ms.
 */
async function xstateAlone(machines: ReturnType<typeof floorMachines>): Promise<number> {
  const out = new Map<string, string>();
  const t0 = process.hrtime.bigint();
  await new Promise<void>((resolve) => {
    let left = machines.length;
    for (const machine of machines) {
      const actor = createActor(machine);
      let working = false;
      actor.subscribe((snap) => {
        if (snap.value === 'working') working = true;
        else if (working) {
          actor.stop();
          if (--left === 0) resolve();
        }
      });
      actor.start();
      const event: FloorEvent = { type: 'board', go: true, out };
      if (actor.getSnapshot().can(event)) actor.send(event);
    }
  });
  if (out.size !== machines.length)
    throw new Error(`xstate alone: ${out.size} of ${machines.length} results`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function fanout(n: number, latency: number): BenchCase {
  return {
    group: 'scheduler',
    name: `fanout.${n}.lat${latency}`,
    async run() {
      const agents = Array.from({ length: n }, (_, i) =>
        agent(
          `w${i}`,
          [['go']],
          [['out', `w${i}`]],
          (b) => b.go && !b.out.has(`w${i}`),
          (d) => {
            d.out.set(`w${i}`, 'done');
          },
          latency,
        ),
      );
      const floor = floorMachines(n, latency);
      // Hearsay's samples and the floor's are taken in turn, so both see the same machine.
      const hearsay: number[] = [];
      const alone: number[] = [];
      const runs = n < 1000 ? 9 : 5;
      for (let i = 0; i < warmupRuns(n) + runs; i++) {
        const { ms } = await runTeam(agents, { depth: 5, concurrency: n, expect: n });
        const floorMs = await xstateAlone(floor);
        if (i < warmupRuns(n)) continue;
        hearsay.push(ms / latency);
        alone.push(floorMs / latency);
      }
      const line = (name: string, samples: number[]) => ({
        group: 'scheduler',
        case: name,
        metric: 'makespan_over_critical',
        ...summarize(samples),
        agents: n,
        critical_ms: latency,
      });
      const ours = line(`fanout.${n}.lat${latency}`, hearsay);
      const floorLine = line(`fanout.${n}.lat${latency}.xstate_alone`, alone);
      // The target (BENCH.md): Hearsay's makespan within 1.15 × (100 agents) or 1.5 × (1,000) the floor's.
      return [{ ...ours, over_floor: Math.round((ours.value / floorLine.value) * 1000) / 1000 }, floorLine];
    },
  };
}

function bigboard(entries: number, steps: number): BenchCase {
  const name = entries >= 1000 ? `${entries / 1000}k` : String(entries);
  return {
    group: 'scheduler',
    name: `bigboard.${name}.steps${steps}`,
    async run() {
      const data = Object.fromEntries(Array.from({ length: entries }, (_, i) => [`d${i}`, { n: 0 }]));
      const looper = agent(
        'looper',
        [['step'], ['go']],
        [['step'], ['data']],
        (b) => b.go && b.step < steps,
        (d) => {
          d.step += 1;
          d.data.get(`d${(d.step * 7919) % entries}`)!.n += 1;
        },
      );
      const stats = await repeat(
        async () => {
          const { stepsMs: ms } = await runTeam([looper], {
            depth: steps + 2,
            concurrency: 1,
            initialState: { ...initial, data },
            expect: steps,
          });
          return (ms * 1000) / steps;
        },
        { runs: 5, warmup: warmupRuns(steps) },
      );
      return {
        group: 'scheduler',
        case: `bigboard.${name}.steps${steps}`,
        metric: 'us_per_step',
        ...stats,
        entries,
        heap_mb: heapMb(),
      };
    },
  };
}

/** The warm cases: each after a long warm-up in the bench's own process. */
export const warmSchedulerCases: BenchCase[] = [
  chain(1000),
  fanout(100, 20),
  fanout(1000, 20),
  bigboard(10, 200),
  bigboard(10_000, 200),
];

/**
 * The same case cold: run by `bench/scheduler-one` in a fresh `node --expose-gc` process with 2 warm-up
 * runs, its lines renamed `<case>.cold`.
 */
function coldCase(warm: BenchCase): BenchCase {
  return {
    group: 'scheduler',
    name: `${warm.name}.cold`,
    async run() {
      const { stdout } = await execFileAsync(
        process.execPath,
        ['--expose-gc', ...scriptArgs('bench/scheduler-one'), warm.name],
        { env: { ...process.env, HEARSAY_BENCH_COLD: '1' }, maxBuffer: 1 << 24 },
      );
      const lines = stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as BenchLine & { case: string });
      return lines.map((l) => ({ ...l, case: `${l.case}.cold`, warmup: 2 }));
    },
  };
}

export const schedulerCases: BenchCase[] = warmSchedulerCases.flatMap((c) => [c, coldCase(c)]);
