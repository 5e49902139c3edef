/**
 * Issue 18: an error an OpenAI-compatible server sends while streaming keeps its HTTP meaning. A 429
 * before the stream's body, and an error event inside the stream after its 200 (as OpenAI, vLLM,
 * OpenRouter and llama.cpp send them), are the same typed TransportFailure a non-streamed 429/5xx/4xx is,
 * so the model client retries (after the server's wait), falls back, or gives up exactly as for those.
 * Against a real loopback HTTP server, through the built package.
 */
import { createModelClient, openAITransport, TransportError, type TransportFailure } from 'hearsay';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeOpenAI, type FakeReply } from '../support/fake-openai.js';

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

const content = 'a streamed answer that is cut off';
const messages = [{ role: 'user' as const, content: 'hello' }];

/** Streams one call through the transport; what failed, and the text that arrived before it did. */
async function failureOf(reply: FakeReply): Promise<{ failure: TransportFailure; deltas: string }> {
  server.reply(reply);
  let deltas = '';
  const transport = openAITransport({ apiKey: 'test-key', baseURL: server.url });
  try {
    await transport.send(
      { model: 'm', messages, onDelta: (d) => (deltas += d) },
      { signal: new AbortController().signal, timeoutMs: 10_000 },
    );
  } catch (error) {
    expect(error).toBeInstanceOf(TransportError);
    return { failure: (error as TransportError).failure, deltas };
  }
  throw new Error('the call did not fail');
}

const midStream = (data: unknown, event?: string): FakeReply => ({
  content,
  streamError: { afterPieces: 2, data, ...(event ? { event } : {}) },
});

describe('a streamed call’s errors keep their HTTP meaning', () => {
  it('a 429 before the stream’s body is rate_limited with its retry-after', async () => {
    const r = await failureOf({ status: 429, headers: { 'retry-after': '2' } });
    expect(r.failure).toMatchObject({ kind: 'rate_limited', retryAfterMs: 2000 });
    expect(server.received[0]!.body.stream).toBe(true);
  });

  it.each([
    [
      'OpenAI: data {error} with a rate-limit code and "try again in"',
      midStream({
        error: {
          message: 'Rate limit reached for requests. Please try again in 20ms.',
          type: 'requests',
          code: 'rate_limit_exceeded',
        },
      }),
      { kind: 'rate_limited', retryAfterMs: 20 },
    ],
    [
      'event: error with a 429 code and retry_after seconds',
      midStream({ error: { message: 'too many requests', code: 429, retry_after: 3 } }, 'error'),
      { kind: 'rate_limited', retryAfterMs: 3000 },
    ],
    [
      'vLLM: an unwrapped error object with code 503',
      midStream({
        object: 'error',
        message: 'engine overloaded',
        type: 'ServiceUnavailableError',
        code: 503,
      }),
      { kind: 'server', status: 503 },
    ],
    [
      'OpenRouter: a chunk with choices and an error with code 502',
      midStream({
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta: { content: '' }, finish_reason: 'error' }],
        error: { code: 502, message: 'provider returned error' },
      }),
      { kind: 'server', status: 502 },
    ],
    [
      'llama.cpp: event: error with a string status code 500',
      midStream({ error: { code: '500', message: 'slot failed', type: 'server_error' } }, 'error'),
      { kind: 'server', status: 500 },
    ],
    [
      'OpenAI: a server_error without a code',
      midStream({ error: { message: 'The server had an error', type: 'server_error', code: null } }),
      { kind: 'server', status: 500 },
    ],
    [
      'a 400 mid-stream (the context is too long)',
      midStream({ error: { message: 'context too long', type: 'invalid_request_error', code: 400 } }),
      { kind: 'client', status: 400 },
    ],
    [
      'an error that says nothing more: the server failed, not the connection',
      midStream({ error: { message: 'oops' } }),
      { kind: 'server', status: 500 },
    ],
  ])('%s', async (_name, reply, expected) => {
    const r = await failureOf(reply);
    expect(r.failure).toMatchObject(expected);
    expect(r.failure.message).toMatch(/mid-stream/);
    // It came after the stream began: part of the answer had arrived.
    expect(r.deltas).toBe(content.slice(0, 8));
  });

  it('a stream that ends quietly before its answer does is a failure, not a partial answer', async () => {
    const r = await failureOf({ content, cutAfterPieces: 2 });
    expect(r.failure).toMatchObject({ kind: 'connection', message: expect.stringMatching(/incomplete/) });
    expect(r.deltas).toBe(content.slice(0, 8));
  });

  it('odd chunks that are not errors (no choices, error: null) do not fail a stream', async () => {
    server.reply({
      content,
      streamExtra: [
        { id: 'x', object: 'chat.completion.chunk', usage: { prompt_tokens: 1, completion_tokens: 2 } },
        { id: 'x', object: 'chat.completion.chunk', error: null },
      ],
    });
    let deltas = '';
    const transport = openAITransport({ apiKey: 'test-key', baseURL: server.url });
    const r = await transport.send(
      { model: 'm', messages, onDelta: (d) => (deltas += d) },
      { signal: new AbortController().signal, timeoutMs: 10_000 },
    );
    expect(r.text).toBe(content);
    expect(deltas).toBe(content);
  });

  it('a mid-stream 429 is retried after its wait and a mid-stream 5xx falls back, as when not streamed', async () => {
    const scenario = (streamed: boolean): FakeReply[] =>
      streamed
        ? [
            midStream({ error: { message: 'slow down', code: 429, retry_after_ms: 7 } }, 'error'),
            midStream({ error: { message: 'unavailable', code: 503 } }),
            { content: 'fine' },
          ]
        : [{ status: 429, headers: { 'retry-after-ms': '7' } }, { status: 503 }, { content: 'fine' }];
    const seen: Record<string, unknown[]> = {};
    for (const streamed of [false, true]) {
      server.reply(...scenario(streamed));
      const events: unknown[] = [];
      const llm = createModelClient({
        transport: openAITransport({ apiKey: 'test-key', baseURL: server.url }),
        tiers: { large: { models: ['first', 'second'] } },
        retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
        cache: false,
      });
      const r = await llm.complete({
        messages,
        ...(streamed ? { onDelta: () => {} } : {}),
        onEvent: (e) => {
          if (e.type === 'retry' || e.type === 'fallback') {
            const { failure, ...rest } = e;
            const { message: _message, ...meaning } = failure;
            events.push({ ...rest, failure: meaning });
          }
        },
      });
      expect(r).toMatchObject({ ok: true, text: 'fine', model: 'second', requests: 3 });
      seen[streamed ? 'streamed' : 'plain'] = events;
    }
    expect(seen.plain).toEqual([
      {
        type: 'retry',
        model: 'first',
        attempt: 1,
        waitMs: 7,
        failure: { kind: 'rate_limited', retryAfterMs: 7 },
      },
      { type: 'fallback', from: 'first', to: 'second', failure: { kind: 'server', status: 503 } },
    ]);
    expect(seen.streamed).toEqual(seen.plain);
  });

  it('a mid-stream 4xx is the request’s fault: returned at once, not retried as a dropped connection', async () => {
    server.reply(
      midStream({ error: { message: 'bad tool schema', type: 'invalid_request_error', code: 400 } }),
    );
    const llm = createModelClient({
      transport: openAITransport({ apiKey: 'test-key', baseURL: server.url }),
      tiers: { large: { models: ['first', 'second'] } },
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
      cache: false,
    });
    const r = await llm.complete({ messages, onDelta: () => {} });
    expect(r).toMatchObject({ ok: false, error: { code: 'client_error', status: 400 } });
    expect(server.received).toHaveLength(1);
  });
});
