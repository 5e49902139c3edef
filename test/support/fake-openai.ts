import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted answer of the fake server. */
export interface FakeReply {
  readonly status?: number;
  readonly headers?: Record<string, string>;
  /** An error body for non-2xx replies. */
  readonly error?: string;
  readonly content?: string;
  readonly toolCalls?: readonly { readonly name: string; readonly arguments: string }[];
  /** Usage to report; `null` reports none (the client must count). */
  readonly usage?: { readonly prompt: number; readonly completion: number } | null;
  /** Wait before answering. */
  readonly delayMs?: number;
  /** When streaming: wait between chunks. */
  readonly chunkDelayMs?: number;
  /**
   * When streaming: after `afterPieces` pieces of the content, the server sends this error inside the
   * stream (its 200 already sent) and ends it, as real servers do: `data` is the SSE event's JSON (e.g.
   * `{ error: { message, code: 429 } }`), under an `event:` line when `event` is given.
   */
  readonly streamError?: { readonly afterPieces: number; readonly event?: string; readonly data: unknown };
  /** When streaming: ends the stream quietly after this many pieces of the content (no finish, no [DONE]). */
  readonly cutAfterPieces?: number;
  /** When streaming: more SSE events' JSON, sent as they are after the content (odd chunks servers send). */
  readonly streamExtra?: readonly unknown[];
}

/** A request the fake server received. */
export interface Received {
  readonly body: {
    model: string;
    messages: { role: string; content: string | null }[];
    stream?: boolean;
    response_format?: { type: string; json_schema?: { schema: unknown } };
    tools?: { function: { name: string } }[];
    temperature?: number;
    seed?: number;
  };
  readonly headers: IncomingMessage['headers'];
}

/**
 * An OpenAI-compatible server on a loopback port, speaking the real wire format (JSON and server-sent
 * event streams, tool calls, usage), answering from a script. Nothing leaves the machine.
 */
export class FakeOpenAI {
  readonly received: Received[] = [];
  private readonly script: FakeReply[] = [];
  private readonly server: Server;
  private readonly open = new Set<ServerResponse>();
  private readonly closedWaiters = new Set<() => void>();
  url = '';

  constructor() {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
    return this;
  }

  /** Queues answers, used in order; when the script is empty the server answers `ok`. */
  reply(...replies: FakeReply[]): this {
    this.script.push(...replies);
    return this;
  }

  /**
   * Resolves once no response is open: each one was sent to its end or its client went away (an explicit
   * signal for tests that check nothing more arrives after a client stopped reading).
   */
  responsesClosed(): Promise<void> {
    if (this.open.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.closedWaiters.add(resolve));
  }

  async stop(): Promise<void> {
    for (const res of this.open) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.open.add(res);
    res.on('close', () => {
      this.open.delete(res);
      if (this.open.size > 0) return;
      for (const resolve of this.closedWaiters) resolve();
      this.closedWaiters.clear();
    });
    let raw = '';
    for await (const chunk of req) raw += chunk;
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      res.writeHead(404).end();
      return;
    }
    const body = JSON.parse(raw) as Received['body'];
    this.received.push({ body, headers: req.headers });
    const r = this.script.shift() ?? { content: 'ok' };
    if (r.delayMs) await new Promise((resolve) => setTimeout(resolve, r.delayMs));
    if (res.destroyed) return;
    const status = r.status ?? 200;
    if (status >= 400) {
      res.writeHead(status, { 'content-type': 'application/json', ...r.headers });
      res.end(JSON.stringify({ error: { message: r.error ?? `status ${status}`, type: 'test_error' } }));
      return;
    }
    const usage =
      r.usage === null
        ? undefined
        : {
            prompt_tokens: r.usage?.prompt ?? 11,
            completion_tokens: r.usage?.completion ?? 7,
            total_tokens: (r.usage?.prompt ?? 11) + (r.usage?.completion ?? 7),
          };
    const toolCalls = (r.toolCalls ?? []).map((c, i) => ({
      id: `call_${i}`,
      type: 'function',
      function: { name: c.name, arguments: c.arguments },
    }));
    const finish = toolCalls.length > 0 ? 'tool_calls' : 'stop';
    const base = { id: 'chatcmpl-test', created: 1, model: body.model };
    if (!body.stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          ...base,
          object: 'chat.completion',
          choices: [
            {
              index: 0,
              message: {
                role: 'assistant',
                content: r.content ?? null,
                ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
              },
              finish_reason: finish,
            },
          ],
          ...(usage ? { usage } : {}),
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const send = (chunk: unknown) => res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    const pieces = (r.content ?? '').match(/.{1,4}/gs) ?? [];
    send({
      ...base,
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
    });
    for (const [i, piece] of pieces.entries()) {
      if (r.chunkDelayMs) await new Promise((resolve) => setTimeout(resolve, r.chunkDelayMs));
      if (res.destroyed) return;
      if (r.cutAfterPieces === i) {
        res.end();
        return;
      }
      if (r.streamError && i === r.streamError.afterPieces) {
        const event = r.streamError.event ? `event: ${r.streamError.event}\n` : '';
        res.end(`${event}data: ${JSON.stringify(r.streamError.data)}\n\n`);
        return;
      }
      send({
        ...base,
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta: { content: piece }, finish_reason: null }],
      });
    }
    for (const extra of r.streamExtra ?? []) send(extra);
    toolCalls.forEach((c, index) => {
      send({
        ...base,
        object: 'chat.completion.chunk',
        choices: [
          {
            index: 0,
            delta: {
              tool_calls: [
                { index, id: c.id, type: 'function', function: { name: c.function.name, arguments: '' } },
              ],
            },
            finish_reason: null,
          },
        ],
      });
      send({
        ...base,
        object: 'chat.completion.chunk',
        choices: [
          {
            index: 0,
            delta: { tool_calls: [{ index, function: { arguments: c.function.arguments } }] },
            finish_reason: null,
          },
        ],
      });
    });
    send({
      ...base,
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta: {}, finish_reason: finish }],
    });
    if (usage) send({ ...base, object: 'chat.completion.chunk', choices: [], usage });
    res.end('data: [DONE]\n\n');
  }
}
