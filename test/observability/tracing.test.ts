import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { z } from 'zod';
import { agentActions, type BoardEvent, defineAgent, stepMachine } from '../../src/actors/index.js';
import type { LogEvent } from '../../src/blackboard/index.js';
import { createModelClient, simulatedTransport, type ToolDefinition } from '../../src/llm/index.js';
import { createRuntime, type Runtime, type RuntimeConfig } from '../../src/runtime/index.js';
import { TOPICS } from '../../src/scheduler/index.js';
import { HubBoard, hubInitial, incrementer, notary, touchDuringFirstAttempt } from '../fixtures/hub-team.js';
import { runAnsweringApprovals } from '../support/approvals.js';
import { TOKENS } from '../support/hub.js';
import { records } from '../support/team.js';
import { memoryTracing, type SpanLine } from '../support/tracing.js';

const Board = z.object({
  goal: z.string(),
  plan: z.string().optional(),
  draft: z.string().optional(),
  final: z.string().optional(),
});
type B = z.output<typeof Board>;

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

const models = () =>
  createModelClient({
    transport: simulatedTransport({
      respond: (req) => ({ text: `answer to: ${String(req.messages.at(-1)?.content)}` }),
    }),
    tiers: { large: { models: ['sim-large'] } },
    prices: { 'sim-large': { input: 1e-6, output: 2e-6 } },
  });

/** An agent that, while the board has no plan, does `work` and writes what it returns as the plan. */
const planner = (id: string, work: (e: BoardEvent<B>) => Promise<string>, retry?: { attempts: number }) =>
  defineAgent<B>({
    id,
    watches: [['goal']],
    writes: [['plan']],
    ...(retry ? { retry } : {}),
    machine: stepMachine<B, string>({
      when: (b) => !b.plan,
      work,
      done: (d, p) => void Object.assign(d, { plan: p }),
    }),
  });

/** planner → writer (asks the model) → editor: each enabled by the commit of the one before. */
function pipeline() {
  const first = planner('planner', async (e) => `plan for ${e.board.goal}`);
  const writer = defineAgent<B>({
    id: 'writer',
    watches: [['plan']],
    writes: [['draft']],
    machine: stepMachine<B, string>({
      when: (b) => !!b.plan && !b.draft,
      work: async (e) => {
        const r = await e.tools.model({
          messages: [{ role: 'user', content: `Write from ${e.board.plan}; key sk-SECRET123` }],
        });
        if (!r.ok) throw new Error(r.error.message);
        return r.text;
      },
      done: (d, text) => void Object.assign(d, { draft: text }),
    }),
  });
  const editor = defineAgent<B>({
    id: 'editor',
    watches: [['draft']],
    writes: [['final']],
    machine: stepMachine<B, string>({
      when: (b) => !!b.draft && !b.final,
      work: async (e) => e.board.draft!.toUpperCase(),
      done: (d, t) => void Object.assign(d, { final: t }),
    }),
  });
  return [first, writer, editor];
}

/** A runtime over the test board, traced into memory (merged with `observability`), closed after the test. */
function traced(config: Omit<RuntimeConfig<typeof Board>, 'board'> & { readonly initial: B }): {
  runtime: Runtime<B>;
  spans: () => ReadableSpan[];
} {
  const { tracer, spans } = memoryTracing();
  const { initial, observability, ...rest } = config;
  const runtime = createRuntime({
    board: { schema: Board, initial },
    ...rest,
    observability: { ...observability, tracer },
  });
  cleanup.push(() => runtime.close());
  return { runtime, spans };
}

const byName = (spans: readonly ReadableSpan[], name: string) => spans.filter((s) => s.name === name);
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

describe('tracing', () => {
  it('gives a run one trace whose activation spans follow the causal chain through the board', async () => {
    const { runtime, spans } = traced({
      initial: { goal: 'a haiku' },
      agents: pipeline(),
      models: models(),
      goal: (b) => !!b.final,
      observability: { redact: (t) => t.replace(/sk-[A-Za-z0-9]+/g, 'sk-***') },
    });
    const result = await runtime.run();
    expect(result.outcome).toBe('completed');
    const all = spans();
    expect(new Set(all.map((s) => s.spanContext().traceId))).toEqual(new Set([result.traceId]));
    const [run] = byName(all, 'hearsay.run');
    const [planner] = byName(all, 'agent.planner');
    const [writer] = byName(all, 'agent.writer');
    const [editor] = byName(all, 'agent.editor');
    const [chat] = byName(all, 'chat sim-large');
    expect([run, planner, writer, editor, chat].every(Boolean)).toBe(true);
    expect(parentOf(run!)).toBeUndefined();
    expect(parentOf(planner!)).toBe(run!.spanContext().spanId);
    expect(parentOf(writer!)).toBe(planner!.spanContext().spanId);
    expect(parentOf(editor!)).toBe(writer!.spanContext().spanId);
    expect(parentOf(chat!)).toBe(writer!.spanContext().spanId);
    expect(all).toHaveLength(5);
    // Attributes: who, where in the chain, how it went, and bounded, redacted summaries.
    expect(writer!.attributes).toMatchObject({
      'hearsay.agent.id': 'writer',
      'hearsay.activation.depth': 2,
      'hearsay.activation.attempt': 1,
      'hearsay.success': true,
    });
    expect(writer!.status.code).toBe(SpanStatusCode.OK);
    expect(writer!.events.map((e) => e.name)).toEqual(['commit']);
    expect(writer!.events[0]!.attributes).toMatchObject({ 'hearsay.commit.paths': ['draft'] });
    expect(chat!.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'sim-large',
      'hearsay.cache_hit': false,
    });
    expect(chat!.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
    expect(String(chat!.attributes['hearsay.input.summary'])).toContain('sk-***');
    expect(String(chat!.attributes['hearsay.input.summary'])).not.toContain('SECRET');
    expect(run!.attributes).toMatchObject({ 'hearsay.run.outcome': 'completed' });
  });

  it('marks a failed activation with error status and an error type, its retry as a sibling', async () => {
    let calls = 0;
    const flaky = planner(
      'flaky',
      async () => {
        calls += 1;
        if (calls === 1) throw new Error('the tool timed out');
        return 'ok';
      },
      { attempts: 2 },
    );
    const { runtime, spans } = traced({
      initial: { goal: 'x' },
      agents: [flaky],
    });
    await runtime.run();
    const attempts = byName(spans(), 'agent.flaky');
    expect(attempts.map((s) => s.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.OK]);
    expect(attempts[0]!.attributes).toMatchObject({ 'error.type': 'timeout', 'hearsay.success': false });
    expect(attempts[0]!.status.message).toMatch(/timed out/);
    expect(parentOf(attempts[0]!)).toBe(parentOf(attempts[1]!));
    // The commit of the second attempt says it took one retry.
    expect(attempts[1]!.events.find((e) => e.name === 'commit')?.attributes).toMatchObject({
      'hearsay.commit.retries': 1,
    });
  });

  it('counts tokens and cost exactly as the model calls on the log add up, per agent and per model, and as metrics', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    const meter = new MeterProvider({ readers: [reader] }).getMeter('test');
    const runtime = createRuntime({
      board: { schema: Board, initial: { goal: 'a haiku' } },
      agents: pipeline(),
      models: models(),
      goal: (b) => !!b.final,
      observability: { meter },
    });
    cleanup.push(() => runtime.close());
    const handle = await runtime.start();
    const log: LogEvent[] = [];
    handle.board.subscribe({ from: 1 }, (e) => log.push(e));
    const result = await handle.result;
    const calls = records<{
      type: string;
      usage: { inputTokens: number; outputTokens: number };
      cost: number;
    }>(log, TOPICS.model).filter((r) => r.type === 'call');
    expect(calls.length).toBeGreaterThan(0);
    const input = calls.reduce((n, c) => n + c.usage.inputTokens, 0);
    const output = calls.reduce((n, c) => n + c.usage.outputTokens, 0);
    const cost = calls.reduce((n, c) => n + c.cost, 0);
    expect(result.cost.total).toMatchObject({
      inputTokens: input,
      outputTokens: output,
      tokens: input + output,
      calls: calls.length,
    });
    expect(result.cost.total.cost).toBeCloseTo(cost, 12);
    expect(result.cost.byAgent.writer!.tokens).toBe(input + output);
    expect(result.cost.byModel['sim-large']!.calls).toBe(calls.length);
    expect(result.usage.tokens).toBe(input + output);
    expect(handle.cost()).toEqual(result.cost);
    await reader.forceFlush();
    const metrics = exporter.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics));
    const sum = (name: string, where: (a: Record<string, unknown>) => boolean = () => true) =>
      metrics
        .filter((m) => m.descriptor.name === name)
        .flatMap((m) => m.dataPoints as { attributes: Record<string, unknown>; value: unknown }[])
        .filter((p) => where(p.attributes))
        .reduce((n, p) => n + (p.value as number), 0);
    expect(sum('hearsay.activations')).toBe(3);
    expect(sum('hearsay.tokens', (a) => a['gen_ai.token.type'] === 'input')).toBe(input);
    expect(sum('hearsay.tokens', (a) => a['gen_ai.token.type'] === 'output')).toBe(output);
    expect(sum('hearsay.commits', (a) => a['hearsay.author'] !== 'input')).toBe(3);
  });
});

describe('edges of a run', () => {
  it('books the model call that spends the budget, though it ends the run', async () => {
    const { runtime, spans } = traced({
      initial: { goal: 'a haiku' },
      agents: pipeline(),
      models: models(),
      // The writer's prompt passes the budget gate (about 12 tokens); with the answer the call spends more.
      limits: { budget: { tokens: 20 } },
    });
    const result = await runtime.run();
    expect(result.outcome).toBe('budget_exceeded');
    expect(result.cost.total.calls).toBe(1);
    expect(result.cost.total.tokens).toBe(result.usage.tokens);
    expect(byName(spans(), 'chat sim-large')).toHaveLength(1);
  });

  it('books and traces a failed model call under the model it went to, with its error', async () => {
    const strict = planner('strict', async (e) => {
      const r = await e.tools.model({
        messages: [{ role: 'user', content: 'give a number' }],
        schema: z.object({ n: z.number() }),
      });
      return r.ok ? 'number' : r.error.code;
    });
    const { runtime, spans } = traced({
      initial: { goal: 'x' },
      agents: [strict],
      models: models(),
    });
    const result = await runtime.run();
    // The simulated model answers prose, never the JSON the schema asks for: the repairs run out.
    expect(result.board.plan).toBe('invalid_output');
    const [chat] = byName(spans(), 'chat sim-large');
    expect(chat!.status.code).toBe(SpanStatusCode.ERROR);
    expect(chat!.attributes).toMatchObject({
      'error.type': 'invalid_output',
      'gen_ai.request.model': 'sim-large',
    });
    expect(result.cost.byModel['sim-large']!.tokens).toBeGreaterThan(0);
    expect(result.cost.byModel['sim-large']!.cost).toBeGreaterThan(0);
  });

  it('counts the whole run in the cost of a run resumed after a pause', async () => {
    const asker = planner('asker', async (e) => {
      const r = await e.tools.model({ messages: [{ role: 'user', content: 'draft the email' }] });
      if (!r.ok) throw new Error(r.error.message);
      const d = await e.tools.requestApproval({ action: 'send_email', args: { body: r.text } });
      return d.approved ? 'sent' : 'held';
    });
    const runtime = createRuntime({
      board: { schema: Board, initial: { goal: 'x' } },
      agents: [asker],
      models: models(),
      goal: (b) => !!b.plan,
    });
    cleanup.push(() => runtime.close());
    const first = await runtime.start();
    const log: LogEvent[] = [];
    first.board.subscribe({ from: 1 }, (e) => log.push(e));
    const paused = await first.result;
    expect(paused.outcome).toBe('awaiting_approval');
    expect(paused.cost.total.calls).toBe(1);
    const [request] = records<{ phase: string; requestId: string }>(log, TOPICS.approval).filter(
      (r) => r.phase === 'requested',
    );
    await runtime.approve(request!.requestId, { by: 'test' });
    const resumed = await (await runtime.resume(first.runId)).result;
    expect(resumed.outcome).toBe('completed');
    // The resumed activation runs again and asks the model again (the call is not idempotent): two calls.
    expect(resumed.cost.total.calls).toBe(2);
    expect(resumed.cost.total.tokens).toBe(resumed.usage.tokens);
  });

  it('makes a delegated activation the child of the activation that delegated it', async () => {
    const { delegate, commit } = agentActions<B>();
    const boss = defineAgent<B>({
      id: 'boss',
      watches: [['goal']],
      writes: [],
      machine: setup({ types: { events: {} as BoardEvent<B> } }).createMachine({
        initial: 'idle',
        states: {
          idle: {
            on: {
              board: {
                guard: ({ event }) => !event.board.plan,
                target: 'asked',
                actions: delegate('helper', () => 'plan it'),
              },
            },
          },
          asked: {},
        },
      }),
    });
    const helper = defineAgent<B>({
      id: 'helper',
      watches: [],
      writes: [['plan']],
      machine: setup({ types: { events: {} as BoardEvent<B> } }).createMachine({
        initial: 'idle',
        states: {
          idle: {
            on: {
              board: {
                guard: ({ event }) => event.delegation !== undefined,
                actions: commit(() => (d) => void Object.assign(d, { plan: 'delegated' })),
              },
            },
          },
        },
      }),
    });
    const { runtime, spans } = traced({
      initial: { goal: 'x' },
      agents: [boss, helper],
    });
    const result = await runtime.run();
    expect(result.board.plan).toBe('delegated');
    const [bossSpan] = byName(spans(), 'agent.boss');
    const [helperSpan] = byName(spans(), 'agent.helper');
    expect(parentOf(helperSpan!)).toBe(bossSpan!.spanContext().spanId);
    expect(helperSpan!.attributes['hearsay.delegated_by']).toBe('boss');
  });
});

describe('trace context inside an activation', () => {
  it("makes the activation's span the active span of the work it starts (with a context manager)", async () => {
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    cleanup.push(() => {
      context.disable();
    });
    let seen: string | undefined;
    const worker = planner('worker', async (e) => {
      await e.tools.sleep(1);
      // What an instrumented HTTP client or database driver would see as its parent.
      seen = trace.getActiveSpan()?.spanContext().spanId;
      return 'done';
    });
    const { runtime, spans } = traced({
      initial: { goal: 'x' },
      agents: [worker],
    });
    await runtime.run();
    const [span] = byName(spans(), 'agent.worker');
    expect(seen).toBe(span!.spanContext().spanId);
  });
});

describe('tool calls', () => {
  it('are spans of their activation, recorded on the log, an error span for a tool that throws', async () => {
    const lookup: ToolDefinition = {
      name: 'lookup',
      description: 'Looks a word up.',
      parameters: z.object({ q: z.string() }),
      run: ({ q }: { q: string }) => {
        if (q === 'boom') throw new Error('the index is down');
        return `${q}: found`;
      },
    } as ToolDefinition;
    const toolModels = createModelClient({
      transport: simulatedTransport({
        respond: () => ({
          text: '',
          toolCalls: [
            { id: 'c1', name: 'lookup', arguments: '{"q":"kigo"}' },
            { id: 'c2', name: 'lookup', arguments: '{"q":"boom"}' },
          ],
        }),
      }),
      tiers: { large: { models: ['sim'] } },
    });
    const researcher = planner('researcher', async (e) => {
      const r = await e.tools.model({
        messages: [{ role: 'user', content: 'look things up' }],
        tools: [lookup],
      });
      if (!r.ok) throw new Error(r.error.message);
      const runs = await e.tools.runTools(r.toolCalls, [lookup]);
      return runs.map((t) => (t.ok ? String(t.result) : t.code)).join('; ');
    });
    const { runtime, spans } = traced({
      initial: { goal: 'x' },
      agents: [researcher],
      models: toolModels,
    });
    const handle = await runtime.start();
    const log: LogEvent[] = [];
    handle.board.subscribe({ from: 1 }, (e) => log.push(e));
    const result = await handle.result;
    expect(result.board.plan).toBe('kigo: found; failed');
    const [agent] = byName(spans(), 'agent.researcher');
    const tools = byName(spans(), 'execute_tool lookup');
    expect(tools).toHaveLength(2);
    expect(tools.every((t) => parentOf(t) === agent!.spanContext().spanId)).toBe(true);
    expect(tools.map((t) => t.status.code)).toEqual([SpanStatusCode.UNSET, SpanStatusCode.ERROR]);
    expect(tools[1]!.attributes).toMatchObject({
      'gen_ai.tool.name': 'lookup',
      'gen_ai.tool.call.id': 'c2',
      'error.type': 'failed',
    });
    expect(records<{ name: string; ok: boolean }>(log, TOPICS.tool).map((t) => t.ok)).toEqual([true, false]);
  });
});

describe('tracing across the hub', () => {
  it("puts a remote agent's spans in the run's trace, beneath its activation's span", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearsay-spans-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true, maxRetries: 5 }));
    const file = join(dir, 'spans.jsonl');
    const { tracer, spans } = memoryTracing();
    const runtime = createRuntime({
      board: { schema: HubBoard, initial: hubInitial },
      agents: [incrementer('local', 5), incrementer('remote', 60), notary],
      remote: ['remote', 'notary'],
      goal: (b) => b.notes.length > 0,
      observability: { tracer },
    });
    cleanup.push(() => runtime.close());
    const hub = await runtime.listen({
      tokens: { [TOKENS.reviewer]: ['agent:remote', 'agent:notary'] },
      log: () => {},
    });
    const proc: ChildProcess = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'test/fixtures/remote-agents-process.ts',
        hub.url,
        TOKENS.reviewer,
        'remote,notary',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, HEARSAY_SPANS_FILE: file } },
    );
    cleanup.push(() => {
      proc.kill('SIGKILL');
    });
    await new Promise<void>((resolve) =>
      proc.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()),
    );
    const { result, log } = await runAnsweringApprovals(
      async () => {
        const handle = await runtime.start({ go: true });
        // Its first attempt's commit conflicts: two remote steps, one failed.
        touchDuringFirstAttempt(handle, 'remote');
        return handle;
      },
      (id) => runtime.approve(id, { by: 'test' }),
      (runId) => runtime.resume(runId),
    );
    expect(result.outcome).toBe('completed');
    // The run's traces: one, or two if it paused for the approval before the answer reached it (a resumed
    // run's trace links to the first).
    const traces = new Set(records<{ traceId: string }>(log, TOPICS.trace).map((t) => t.traceId));
    expect(traces.has(result.traceId)).toBe(true);
    const remote: SpanLine[] = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const local = spans();
    const remoteSteps = remote.filter((s) => s.name === 'agent.remote.remote');
    expect(remoteSteps.length).toBeGreaterThanOrEqual(2); // a conflicting attempt and its retry
    for (const step of remoteSteps) {
      expect(traces.has(step.traceId)).toBe(true);
      const parent = local.find((s) => s.spanContext().spanId === step.parentSpanId);
      expect(parent?.name).toBe('agent.remote');
      expect(parent?.spanContext().traceId).toBe(step.traceId);
      expect(parent?.attributes['hearsay.activation.attempt']).toBe(
        step.attributes['hearsay.activation.attempt'],
      );
    }
    expect(remoteSteps.some((s) => s.status === SpanStatusCode.ERROR)).toBe(true);
  });
});
