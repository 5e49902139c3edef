import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { hierarchicalTeam } from '../../examples/hierarchical/team.js';
import { team } from '../../examples/hub-and-spoke/team.js';
import { FileStore } from '../../src/blackboard/index.js';
import {
  check,
  compareReports,
  defineSuite,
  type EvalReport,
  exact,
  formatReport,
  judge,
  loadCases,
  matchesSchema,
  parseJsonPath,
  parseReport,
  replayModels,
  runSuite,
  valueAt,
} from '../../src/evals/index.js';
import { createModelClient, openAITransport } from '../../src/llm/index.js';
import { createRuntime } from '../../src/runtime/index.js';
import { FakeOpenAI } from '../support/fake-openai.js';

const root = new URL('../..', import.meta.url).pathname;
const cli = (...args: string[]) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: root,
    timeout: 120_000,
  }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );

const dirs: string[] = [];
const tempDir = async () => {
  const d = await mkdtemp(join(tmpdir(), 'hearsay-evals-'));
  dirs.push(d);
  return d;
};
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true, maxRetries: 5 })));
});

describe('running a suite', () => {
  it('runs every case `repeat` times, never more than `concurrency` at once, and reports each', async () => {
    let running = 0;
    let most = 0;
    const suite = defineSuite<number, number>({
      name: 'arith',
      cases: [1, 2, 3, 4, 5].map((n) => ({ id: `n${n}`, input: n, expected: { double: n * 2 } })),
      repeat: 3,
      concurrency: 2,
      async run(n, { repetition }) {
        running += 1;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 2 + ((n * repetition) % 3)));
        running -= 1;
        if (n === 4 && repetition === 2) throw new Error('flaky tool');
        // n = 5 is wrong every time; the others are right.
        return { output: n === 5 ? n * 3 : n * 2, usage: { tokens: 10 * n, cost: 0.001 * n } };
      },
      scorers: [check('doubles', ({ output, expected }) => output === valueAt(expected, '$.double'))],
    });
    const progress: number[] = [];
    const report = await runSuite(suite, { onProgress: (done) => progress.push(done) });
    expect(most).toBe(2);
    expect(progress).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    expect(report.overall).toMatchObject({ runs: 15, passed: 11 });
    const byId = Object.fromEntries(report.cases.map((c) => [c.id, c]));
    expect(byId.n1).toMatchObject({ runs: 3, passed: 3, passRate: 1, tokens: 30, scorers: { doubles: 1 } });
    expect(byId.n4!.passed).toBe(2);
    expect(byId.n4!.results[1]!.error).toBe('flaky tool');
    expect(byId.n4!.tokens).toBe(80); // the failed run spent nothing it reported
    expect(byId.n5).toMatchObject({ passed: 0, passRate: 0 });
    expect(byId.n5!.cost).toBeCloseTo(0.015, 10);
    // Three runs a case: p50 is the middle latency, p95 the slowest (nearest rank).
    for (const c of report.cases) {
      const ms = c.results.map((r) => r.latencyMs).sort((a, b) => a - b);
      expect(ms).toHaveLength(3);
      expect(c.latency).toEqual({ p50: ms[1], p95: ms[2] });
    }
    const table = formatReport(report);
    expect(table).toMatch(/suite arith: 11\/15 passed \(73%\)/);
    expect(table).toMatch(/n4 +67% +3/);
    expect(table).toMatch(/error: flaky tool/);
  });

  it('fails a case that runs past its timeout, and goes on', async () => {
    const suite = defineSuite<number, number>({
      name: 'slow',
      cases: [
        { id: 'slow', input: 1 },
        { id: 'quick', input: 2 },
      ],
      run: async (n, { signal }) => {
        if (n === 1) await new Promise((r) => signal.addEventListener('abort', r));
        return { output: n };
      },
      scorers: [check('any', () => true)],
    });
    const report = await runSuite(suite, { timeoutMs: 50 });
    expect(report.cases[0]!.results[0]!.error).toMatch(/timed out after 50 ms/);
    expect(report.cases[1]!.passRate).toBe(1);
  });

  it('refuses malformed suites', () => {
    const base = { name: 's', run: async () => ({ output: 1 }), scorers: [check('x', () => true)] };
    expect(() => defineSuite({ ...base, cases: [] })).toThrow(/no cases/);
    expect(() =>
      defineSuite({
        ...base,
        cases: [
          { id: 'a', input: 1 },
          { id: 'a', input: 2 },
        ],
      }),
    ).toThrow(/two cases/);
    expect(() => defineSuite({ ...base, cases: [{ id: 'a', input: 1 }], repeat: 0 })).toThrow(/repeat/);
    expect(() => defineSuite({ ...base, cases: [{ id: 'a', input: 1 }], scorers: [] })).toThrow(/no scorers/);
  });
});

describe('scorers', () => {
  const args = (output: unknown, expected?: unknown) => ({
    input: null,
    output,
    expected,
    case: { id: 'c', input: null },
  });

  it('read JSON paths the way the log writes them', () => {
    expect(parseJsonPath("$.board.tasks['a b'][2].x")).toEqual(['board', 'tasks', 'a b', 2, 'x']);
    expect(() => parseJsonPath('$.a..b')).toThrow(/Not a JSON path/);
    expect(valueAt({ a: [{ b: 1 }] }, '$.a[0].b')).toBe(1);
    expect(valueAt({ a: 1 }, '$.a.b.c')).toBeUndefined();
  });

  it('exact compares with the given value or the case expectation; schema and check judge shapes', async () => {
    expect(await exact('$.a.b', 2).score(args({ a: { b: 2 } }))).toMatchObject({ pass: true, score: 1 });
    expect(await exact('$.a').score(args({ a: { x: 1, y: [2] } }, { a: { y: [2], x: 1 } }))).toMatchObject({
      pass: true,
    });
    const miss = await exact('$.a').score(args({ a: 1 }, { a: 2 }));
    expect(miss).toMatchObject({ pass: false, reason: '$.a is 1, expected 2' });
    const schema = matchesSchema(z.object({ n: z.number() }), '$.out');
    expect(await schema.score(args({ out: { n: 1 } }))).toMatchObject({ pass: true });
    expect(await schema.score(args({ out: { n: 'x' } }))).toMatchObject({
      pass: false,
      reason: expect.stringMatching(/^n:/),
    });
    expect(await check('reason', () => 'too short').score(args(1))).toMatchObject({
      pass: false,
      reason: 'too short',
    });
  });

  describe('a model-graded judge, against a real OpenAI-compatible server', () => {
    let server: FakeOpenAI;
    beforeAll(async () => {
      server = await new FakeOpenAI().start();
    });
    afterAll(async () => server.stop());
    const models = () =>
      createModelClient({
        transport: openAITransport({ apiKey: 'test-key', baseURL: server.url }),
        tiers: { large: { models: ['judge-model'] } },
        prices: { 'judge-model': { input: 1, output: 2 } },
        retry: { attempts: 1 },
      });

    it('passes at or above its threshold, counts its cost, and fails with the reason when it cannot answer', async () => {
      const scorer = judge({ models: models(), rubric: 'Says hello politely.', passAt: 0.8 });
      server.reply(
        { content: JSON.stringify({ score: 0.9, reason: 'polite' }), usage: { prompt: 100, completion: 10 } },
        { content: JSON.stringify({ score: 0.5, reason: 'curt' }), usage: { prompt: 100, completion: 10 } },
        { content: 'not json at all', usage: { prompt: 100, completion: 10 } },
        { content: 'still not json', usage: { prompt: 100, completion: 10 } },
        { content: 'nope', usage: { prompt: 100, completion: 10 } },
      );
      const good = await scorer.score(args('Hello, dear friend'));
      expect(good).toMatchObject({ pass: true, score: 0.9, reason: 'polite', usage: { tokens: 110 } });
      expect(good.usage!.cost).toBeCloseTo((100 * 1 + 10 * 2) / 1e6, 12);
      // The judge saw the rubric and the output, and was asked for structured output.
      const asked = server.received[0]!.body;
      expect(asked.messages[0]!.content).toMatch(/Rubric: Says hello politely\./);
      expect(asked.messages[1]!.content).toMatch(/Hello, dear friend/);
      expect(asked.response_format?.type).toBe('json_schema');
      expect(await scorer.score(args('hi'))).toMatchObject({ pass: false, score: 0.5, reason: 'curt' });
      // (Another output: the same request again would be answered from the client's cache.)
      const broken = await scorer.score(args('hey'));
      expect(broken.pass).toBe(false);
      expect(broken.reason).toMatch(/^the judge failed/);
    });
  });
});

describe('baselines', () => {
  const report = (passRate: number, cost: number): EvalReport => ({
    suite: 's',
    startedAt: '',
    durationMs: 1,
    repeat: 1,
    cases: [
      {
        id: 'a',
        runs: 10,
        passed: passRate * 10,
        passRate,
        tokens: 100,
        cost,
        latency: { p50: 10, p95: 20 },
        scorers: {},
        results: [],
      },
    ],
    overall: { runs: 10, passed: passRate * 10, passRate, tokens: 100, cost, latency: { p50: 10, p95: 20 } },
  });

  it('finds a pass-rate drop or a cost rise beyond the thresholds, and nothing within them', () => {
    expect(compareReports(report(0.9, 1), report(0.9, 1))).toEqual([]);
    expect(compareReports(report(0.9, 1.2), report(0.9, 1))).toEqual([]);
    expect(compareReports(report(0.8, 1), report(0.9, 1)).map((r) => [r.case, r.metric])).toEqual([
      ['a', 'passRate'],
      ['overall', 'passRate'],
    ]);
    expect(compareReports(report(0.8, 1), report(0.9, 1), { passRate: 0.1 })).toEqual([]);
    expect(compareReports(report(0.9, 1.5), report(0.9, 1)).map((r) => r.metric)).toEqual(['cost', 'cost']);
    // Twice the runs at the same cost per run is not a regression.
    const twice = report(0.9, 2);
    const doubled = {
      ...twice,
      cases: twice.cases.map((c) => ({ ...c, runs: 20 })),
      overall: { ...twice.overall, runs: 20 },
    };
    expect(compareReports(doubled, report(0.9, 1))).toEqual([]);
    const gone = { ...report(0.9, 1), cases: [] };
    expect(compareReports(gone, report(0.9, 1))[0]).toMatchObject({ case: 'a', metric: 'missing' });
    // Only some cases run on purpose: the others are not missing, and the overall of a part of the suite is
    // not compared with the whole suite's (here it is worse, and not reported).
    const part = { ...report(0.5, 3), cases: [] };
    expect(compareReports(part, report(0.9, 1), {}, { only: [] })).toEqual([]);
    expect(compareReports(report(0.8, 1), report(0.9, 1), {}, { only: ['a'] })).toEqual([
      { case: 'a', metric: 'passRate', baseline: 0.9, current: 0.8 },
    ]);
  });

  it('refuses a baseline that is not a report, saying why', () => {
    expect(() => parseReport('{', 'b.json')).toThrow(/b.json is not JSON/);
    expect(() => parseReport('{"suite":"s"}', 'b.json')).toThrow(/b.json is not an eval report: cases/);
    expect(parseReport(JSON.stringify(report(1, 1))).cases[0]!.id).toBe('a');
  });
});

describe('record and replay', () => {
  it('turns a recorded run into a case that replays it offline, to the same board, in one command', async () => {
    const dir = await tempDir();
    const store = new FileStore({ dir });
    const recorded = await createRuntime({ ...team, store }).run(
      { goal: 'an incident to reproduce' },
      { runId: 'incident-7' },
    );
    expect(recorded.outcome).toBe('completed');
    await store.close();

    const cases = await tempDir();
    const made = await cli('eval', '--from-log', dir, 'incident-7', '--into', cases);
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/case "incident-7" written to .*incident-7\.json: .* recorded model answers/);
    const [c] = await loadCases<{ goal: string }>(cases);
    expect(c).toMatchObject({
      id: 'incident-7',
      input: { goal: 'an incident to reproduce' },
      expected: { outcome: 'completed' },
    });
    expect(c!.recorded!.length).toBe(recorded.cost.total.calls);

    // Replayed offline: the replay client answers every call from the recording, to the same report.
    const replayed = await createRuntime({ ...team, models: replayModels(c!.recorded!) }).run(c!.input);
    expect(replayed.outcome).toBe('completed');
    expect(replayed.board.report).toBe(recorded.board.report);
    expect(valueAt(replayed.board, '$.tasks')).toEqual(
      Object.fromEntries(
        Object.entries(valueAt(c!.expected, '$.board.tasks') as Record<string, { status: string }>).map(
          ([k, t]) => [k, expect.objectContaining({ status: t.status })],
        ),
      ),
    );
    expect(replayed.cost.total.tokens).toBe(recorded.cost.total.tokens);

    // A prompt that changed since the recording gets no answer: a clear failure, not a network call.
    const other = await createRuntime({ ...team, models: replayModels(c!.recorded!) }).run({
      goal: 'something else',
    });
    expect(other.outcome).not.toBe('completed');
    expect(JSON.stringify(other.failures)).toMatch(/No recorded answer for this request/);
  });

  it("replays a hierarchical run offline, its child runs' model answers included", async () => {
    const dir = await tempDir();
    const store = new FileStore({ dir });
    const recorded = await createRuntime({ ...hierarchicalTeam(), store }).run(
      { goal: 'recorded trees' },
      { runId: 'tree' },
    );
    expect(recorded.outcome).toBe('completed');
    await store.close();
    const cases = await tempDir();
    expect((await cli('eval', '--from-log', dir, 'tree', '--into', cases)).code).toBe(0);
    const [c] = await loadCases<{ goal: string }>(cases);
    expect(c!.recorded!.length).toBe(4);
    const replayed = await createRuntime({ ...hierarchicalTeam(), models: replayModels(c!.recorded!) }).run(
      c!.input,
    );
    expect(replayed.outcome).toBe('completed');
    expect(replayed.board.report).toBe(recorded.board.report);
  });

  it('refuses bad case files with the file and the problem', async () => {
    const d = await tempDir();
    await writeFile(join(d, 'bad.json'), '{"input": 1}');
    await expect(loadCases(d)).rejects.toThrow(/bad.json is not an eval case: id/);
    await writeFile(join(d, 'bad.json'), '{');
    await expect(loadCases(d)).rejects.toThrow(/bad.json is not JSON/);
    expect(await loadCases(join(d, 'missing'))).toEqual([]);
  });
});

describe('hearsay eval and hearsay run', () => {
  it('runs the example suite offline, writes its report, and exits 1 on a regression against a baseline', async () => {
    const d = await tempDir();
    const out = join(d, 'report.json');
    const first = await cli('eval', 'examples/evals/team.suite.ts', '--repeat', '1', '--json', out);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/suite team: \d+\/\d+ passed \(100%\)/);
    // No progress bar off a terminal (test/cli/progress.test.ts draws it on one).
    expect(first.stderr).toBe('');
    const report = parseReport(await readFile(out, 'utf8'));
    expect(report.cases.map((c) => c.id)).toEqual(
      expect.arrayContaining(['runtime', 'scheduler', 'inspector']),
    );
    expect(report.overall.cost).toBeGreaterThan(0);

    // With --only, the cases left out on purpose are not missing from the comparison.
    const same = await cli(
      'eval',
      'examples/evals/team.suite.ts',
      '--repeat',
      '2',
      '--only',
      'runtime',
      '--baseline',
      out,
      '--threshold',
      '0.05',
    );
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(/no regression against/);
    // Without it, a case the baseline had and this report lacks is a regression.
    const slimmer = { ...report, cases: [...report.cases, { ...report.cases[0]!, id: 'retired' }] };
    await writeFile(join(d, 'slimmer.json'), JSON.stringify(slimmer));
    const missing = await cli(
      'eval',
      'examples/evals/team.suite.ts',
      '--repeat',
      '1',
      '--baseline',
      join(d, 'slimmer.json'),
    );
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/retired: in the baseline, not in this run/);

    // A baseline that cost half as much: this run regresses on cost per run.
    const better = {
      ...report,
      cases: report.cases.map((c) => ({ ...c, cost: c.cost / 2 })),
      overall: { ...report.overall, cost: report.overall.cost / 2 },
    };
    await writeFile(join(d, 'better.json'), JSON.stringify(better));
    const worse = await cli(
      'eval',
      'examples/evals/team.suite.ts',
      '--repeat',
      '1',
      '--baseline',
      join(d, 'better.json'),
    );
    expect(worse.code).toBe(1);
    expect(worse.stdout).toMatch(/overall: cost per run/);
    const fine = await cli('eval', 'examples/evals/team.suite.ts', '--repeat', '1', '--baseline', out);
    expect(fine.code).toBe(0);
    expect(fine.stdout).toMatch(/no regression against/);
  });

  it('runs a workflow module with its outcome and cost; every command has --help; errors are one line', async () => {
    const run = await cli('run', 'examples/hub-and-spoke/workflow.ts', '--no-inspect');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^completed: .* \(\d+ activations, \d+ tokens, \$0\.\d+, version \d+\)$/m);
    for (const command of ['run', 'eval', 'inspect', 'replay', 'approve', 'reject']) {
      const help = await cli(command, '--help');
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`hearsay ${command}`));
    }
    for (const bad of [
      ['frobnicate'],
      ['eval', 'no-such-suite.ts'],
      ['run', 'examples/hub-and-spoke/workflow.ts', '--input', '{oops'],
      ['eval', 'examples/evals/team.suite.ts', '--repeat', 'zero'],
      ['eval', 'examples/evals/team.suite.ts', '--baseline', 'missing.json'],
      ['replay', '/nonexistent', 'r1'],
      ['eval', '--nope'],
    ]) {
      const r = await cli(...bad);
      expect(r.code, bad.join(' ')).toBeGreaterThan(0);
      expect(r.stderr.trim().split('\n'), bad.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(/^hearsay: /);
    }
  });
});
