import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createModelClient,
  type ModelClientConfig,
  type ModelEvent,
  openAITransport,
} from '../../src/llm/index.js';
import { FakeOpenAI } from '../support/fake-openai.js';

const Verdict = z.object({ verdict: z.enum(['approve', 'reject']), reason: z.string() });
const user = (content: string) => [{ role: 'user' as const, content }];

let server: FakeOpenAI;
beforeAll(async () => {
  server = await new FakeOpenAI().start();
});
afterAll(async () => {
  await server.stop();
});
beforeEach(() => {
  server.received.length = 0;
});

/** A client on the fake server whose retry waits are recorded, not slept. */
function client(over: Partial<ModelClientConfig> = {}) {
  const slept: number[] = [];
  const events: ModelEvent[] = [];
  const llm = createModelClient({
    transport: openAITransport({ apiKey: 'test-key', baseURL: server.url }),
    tiers: { small: { models: ['mini', 'backup'], cheaper: 'nano' }, large: { models: ['big'] } },
    prices: { mini: { input: 150, output: 600 }, big: { input: 2500, output: 10000 } },
    retry: { attempts: 2, baseDelayMs: 100 },
    clock: { now: () => Date.now(), sleep: async (ms) => void slept.push(ms) },
    random: () => 0.5,
    ...over,
  });
  return { llm, slept, events, onEvent: (e: ModelEvent) => events.push(e) };
}

describe('ModelClient against an OpenAI-compatible server', () => {
  it('returns valid structured output, sending a JSON-schema response format', async () => {
    server.reply({ content: '{"verdict":"approve","reason":"fine"}' });
    const { llm } = client();
    const r = await llm.complete({ tier: 'small', messages: user('review this'), schema: Verdict });
    expect(r).toMatchObject({
      ok: true,
      value: { verdict: 'approve', reason: 'fine' },
      model: 'mini',
      requests: 1,
    });
    const sent = server.received[0]!.body;
    expect(sent.response_format?.type).toBe('json_schema');
    expect(sent.response_format?.json_schema?.schema).toMatchObject({
      type: 'object',
      required: ['verdict', 'reason'],
    });
    expect(server.received[0]!.headers.authorization).toBe('Bearer test-key');
  });

  it('re-asks after invalid JSON with the error fed back, then accepts a valid answer', async () => {
    server.reply(
      { content: 'Sure! {verdict: approve' },
      { content: '{"verdict":"reject","reason":"tests missing"}' },
    );
    const { llm, events, onEvent } = client();
    const r = await llm.complete({ tier: 'small', messages: user('review'), schema: Verdict, onEvent });
    expect(r).toMatchObject({ ok: true, value: { verdict: 'reject' }, requests: 2 });
    const second = server.received[1]!.body.messages;
    expect(second.at(-2)).toMatchObject({ role: 'assistant', content: 'Sure! {verdict: approve' });
    expect(second.at(-1)!.content).toMatch(/not valid: the answer is not JSON/);
    expect(events.map((e) => e.type)).toEqual(['invalid_output']);
  });

  it('fails with a typed error carrying the raw text and the issues when repairs run out', async () => {
    server.reply(
      { content: '{"verdict":"maybe"}' },
      { content: '{"verdict":"maybe"}' },
      { content: '{"verdict":"maybe"}' },
    );
    const { llm } = client();
    const r = await llm.complete({
      tier: 'small',
      messages: user('review'),
      schema: Verdict,
      repairAttempts: 2,
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toMatchObject({ code: 'invalid_output', raw: '{"verdict":"maybe"}' });
    expect(
      r.error.code === 'invalid_output' && Array.isArray(r.error.issues) && r.error.issues.length,
    ).toBeGreaterThan(0);
    expect(server.received).toHaveLength(3);
    expect(r.usage.inputTokens).toBe(33);
  });

  it('waits as long as Retry-After says on 429, then succeeds', async () => {
    server.reply({ status: 429, headers: { 'retry-after': '2' }, error: 'slow down' }, { content: 'hello' });
    const { llm, slept, events, onEvent } = client();
    const r = await llm.complete({ tier: 'small', messages: user('hi'), onEvent });
    expect(r).toMatchObject({ ok: true, value: 'hello', model: 'mini', requests: 2 });
    expect(slept).toEqual([2000]);
    expect(events[0]).toMatchObject({ type: 'retry', waitMs: 2000, failure: { kind: 'rate_limited' } });
  });

  it('backs off with jitter on 500s, then falls back to the next model in the tier', async () => {
    server.reply({ status: 500 }, { status: 503 }, { content: 'from the backup' });
    const { llm, slept, events, onEvent } = client();
    const r = await llm.complete({ tier: 'small', messages: user('hi'), onEvent });
    expect(r).toMatchObject({ ok: true, value: 'from the backup', model: 'backup', requests: 3 });
    expect(server.received.map((q) => q.body.model)).toEqual(['mini', 'mini', 'backup']);
    expect(slept).toEqual([75]); // 100 ms backoff, jitter in [50, 100]
    expect(events.map((e) => e.type)).toEqual(['retry', 'fallback']);
    expect(events[1]).toMatchObject({ from: 'mini', to: 'backup', failure: { kind: 'server', status: 503 } });
  });

  it('times out a slow call and reports every failure when all models are exhausted', async () => {
    server.reply({ delayMs: 300, content: 'late' }, { delayMs: 300, content: 'late' });
    const { llm } = client();
    const r = await llm.complete({ tier: 'large', messages: user('hi'), timeoutMs: 50 });
    expect(r).toMatchObject({
      ok: false,
      error: {
        code: 'exhausted',
        failures: [{ model: 'big', failure: { kind: 'timeout' } }, { model: 'big' }],
      },
    });
  });

  it('streams text deltas, and stops at once when aborted mid-stream', async () => {
    server.reply({ content: 'The quick brown fox jumps over the lazy dog', chunkDelayMs: 1 });
    const { llm } = client();
    const deltas: string[] = [];
    const r = await llm.complete({ tier: 'small', messages: user('tell'), onDelta: (d) => deltas.push(d) });
    expect(r).toMatchObject({
      ok: true,
      value: 'The quick brown fox jumps over the lazy dog',
      usage: { inputTokens: 11, outputTokens: 7, estimated: false },
    });
    expect(deltas.join('')).toBe('The quick brown fox jumps over the lazy dog');
    expect(deltas.length).toBeGreaterThan(5);
    expect(server.received[0]!.body.stream).toBe(true);

    server.reply({ content: 'x'.repeat(400), chunkDelayMs: 5 });
    const controller = new AbortController();
    const seen: string[] = [];
    const aborted = await llm.complete({
      tier: 'small',
      messages: user('long'),
      signal: controller.signal,
      onDelta: (d) => {
        seen.push(d);
        if (seen.length === 3) controller.abort();
      },
    });
    expect(aborted).toMatchObject({ ok: false, error: { code: 'aborted' } });
    const at = seen.length;
    // The server's response ends only when the client has gone away or every chunk was sent: a client that
    // kept reading after the abort would have seen the chunks sent meanwhile (one every 5 ms, 100 of them).
    await server.responsesClosed();
    await new Promise((r2) => setImmediate(r2));
    expect(seen.length).toBe(at);
  });

  it('accounts usage and cost from the API, or counts tokens when the server reports none', async () => {
    server.reply(
      { content: 'fine', usage: { prompt: 1000, completion: 500 } },
      { content: 'a'.repeat(40), usage: null },
    );
    const { llm } = client();
    const reported = await llm.complete({ tier: 'small', messages: user('hi') });
    expect(reported).toMatchObject({
      ok: true,
      usage: { tokens: 1500, inputTokens: 1000, outputTokens: 500, estimated: false },
    });
    expect(reported.ok && reported.usage.cost).toBeCloseTo((1000 * 150 + 500 * 600) / 1e6);
    const counted = await llm.complete({ tier: 'small', messages: user('12345678') });
    expect(counted).toMatchObject({ ok: true, usage: { inputTokens: 2, outputTokens: 10, estimated: true } });
  });

  it('caches deterministic calls: a hit costs nothing and sends nothing, until the read versions change', async () => {
    server.reply(
      { content: '{"verdict":"approve","reason":"same"}' },
      { content: '{"verdict":"approve","reason":"again"}' },
      { content: '{"verdict":"approve","reason":"warm 1"}' },
      { content: '{"verdict":"approve","reason":"warm 2"}' },
    );
    const { llm, events, onEvent } = client();
    const ask = (cacheKey: unknown) =>
      llm.complete({
        tier: 'small',
        messages: user('review'),
        schema: Verdict,
        temperature: 0,
        cacheKey,
        onEvent,
      });
    const first = await ask({ 'tasks.t1': 3 });
    const second = await ask({ 'tasks.t1': 3 });
    expect(second).toMatchObject({
      ok: true,
      cached: true,
      usage: { tokens: 0, inputTokens: 0, outputTokens: 0, cost: 0 },
      value: { reason: 'same' },
    });
    expect(first.ok && !first.cached).toBe(true);
    expect(server.received).toHaveLength(1);
    expect(events.filter((e) => e.type === 'cache_hit')).toHaveLength(1);
    const changed = await ask({ 'tasks.t1': 4 });
    expect(changed).toMatchObject({ ok: true, cached: false, value: { reason: 'again' } });
    // The same call with a non-zero temperature is not deterministic: asked twice, it is sent twice.
    const warm = () =>
      llm.complete({
        tier: 'small',
        messages: user('review'),
        schema: Verdict,
        temperature: 0.7,
        cacheKey: { 'tasks.t1': 3 },
      });
    const sent = server.received.length;
    expect(await warm()).toMatchObject({ ok: true, cached: false, value: { reason: 'warm 1' } });
    expect(await warm()).toMatchObject({ ok: true, cached: false, value: { reason: 'warm 2' } });
    expect(server.received).toHaveLength(sent + 2);
  });

  it('refuses a call that would exceed the token budget before sending it', async () => {
    const { llm, events, onEvent } = client();
    const r = await llm.complete({
      tier: 'small',
      messages: user('x'.repeat(400)),
      maxOutputTokens: 100,
      budget: { tokensLeft: 120 },
      onEvent,
    });
    expect(r).toMatchObject({
      ok: false,
      error: { code: 'budget_refused', estimatedTokens: 200, tokensLeft: 120 },
    });
    expect(server.received).toHaveLength(0);
    expect(events).toEqual([expect.objectContaining({ type: 'refused' })]);
  });

  it("switches to the tier's cheaper model near the end of the budget, and says so", async () => {
    const { llm, events, onEvent } = client();
    const r = await llm.complete({
      tier: 'small',
      messages: user('hi'),
      budget: { spentShare: 0.9, degradeAt: 0.8 },
      onEvent,
    });
    expect(r).toMatchObject({ ok: true, model: 'nano' });
    expect(events[0]).toMatchObject({
      type: 'degraded',
      from: 'mini',
      to: 'nano',
      reason: '90% of the budget is spent',
    });
  });

  it('validates tool-call arguments before anything runs, and re-asks on invalid ones', async () => {
    const tools = [
      {
        name: 'send_email',
        description: 'Sends an email',
        parameters: z.object({ to: z.email(), body: z.string() }),
        irreversible: true,
      },
    ];
    server.reply(
      { toolCalls: [{ name: 'send_email', arguments: '{"to":"not-an-email","body":"hi"}' }] },
      { toolCalls: [{ name: 'send_email', arguments: '{"to":"a@b.co","body":"hi"}' }] },
    );
    const { llm } = client();
    const r = await llm.complete({ tier: 'small', messages: user('email a@b.co'), tools });
    expect(r).toMatchObject({
      ok: true,
      toolCalls: [{ name: 'send_email', args: { to: 'a@b.co', body: 'hi' }, irreversible: true }],
    });
    expect(server.received[0]!.body.tools?.[0]?.function.name).toBe('send_email');
    const retry = server.received[1]!.body.messages;
    expect(retry.find((m) => m.role === 'tool')?.content).toMatch(
      /Not run: the arguments of send_email are invalid/,
    );
  });

  it('streams tool calls too', async () => {
    server.reply({ toolCalls: [{ name: 'lookup', arguments: '{"q":"hearsay"}' }] });
    const { llm } = client();
    const r = await llm.complete({
      tier: 'small',
      messages: user('find'),
      tools: [{ name: 'lookup', description: 'Looks up', parameters: z.object({ q: z.string() }) }],
      onDelta: () => {},
    });
    expect(r).toMatchObject({ ok: true, toolCalls: [{ name: 'lookup', args: { q: 'hearsay' } }] });
  });

  it('does not retry a 4xx other than 429, and names unknown tiers', async () => {
    server.reply({ status: 400, error: 'bad request' });
    const { llm } = client();
    expect(await llm.complete({ tier: 'small', messages: user('x') })).toMatchObject({
      ok: false,
      error: { code: 'client_error', status: 400 },
    });
    expect(server.received).toHaveLength(1);
    expect(await llm.complete({ tier: 'huge', messages: user('x') })).toMatchObject({
      ok: false,
      error: { code: 'unknown_tier' },
    });
  });
});
