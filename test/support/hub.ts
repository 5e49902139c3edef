import { expect } from 'vitest';
import { WebSocket } from 'ws';
import { type ServerMessage, ServerMessageSchema } from '../../src/protocol/index.js';

/** Tokens the hub tests configure (at least 16 characters each). */
export const TOKENS = {
  inspect: 'inspect-token-0123456789',
  operator: 'operator-token-0123456789',
  worker: 'worker-agent-token-0123456789',
  reviewer: 'reviewer-agent-token-0123456789',
  limited: 'limited-run1-token-0123456789',
} as const;

/** A raw protocol connection that checks every frame it receives against the protocol schema. */
export class RawClient {
  readonly messages: ServerMessage[] = [];
  readonly invalid: unknown[] = [];
  closed: { code: number; reason: string } | undefined;
  private waiters: { test: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];
  private closeWaiters: ((c: { code: number; reason: string }) => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const raw = JSON.parse(data.toString());
      const parsed = ServerMessageSchema.safeParse(raw);
      if (!parsed.success) {
        this.invalid.push({ raw, issues: parsed.error.issues });
        return;
      }
      this.messages.push(parsed.data);
      this.waiters = this.waiters.filter((w) => {
        if (!w.test(parsed.data)) return true;
        w.resolve(parsed.data);
        return false;
      });
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const w of this.closeWaiters) w(this.closed);
    });
    ws.on('error', () => {});
  }

  static open(
    url: string,
    token?: string,
    extra: { headers?: Record<string, string> } = {},
  ): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, ['hearsay.v1'], {
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra.headers },
      });
      const client = new RawClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The first message (already received or coming) that passes `test`. */
  next<T extends ServerMessage>(test: (m: ServerMessage) => m is T, timeoutMs?: number): Promise<T>;
  next(test: (m: ServerMessage) => boolean, timeoutMs?: number): Promise<ServerMessage>;
  next(test: (m: ServerMessage) => boolean, timeoutMs = 10_000): Promise<ServerMessage> {
    const found = this.messages.find(test);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timed out waiting for a message')), timeoutMs);
      this.waiters.push({
        test,
        resolve: (m) => {
          clearTimeout(t);
          resolve(m);
        },
      });
    });
  }

  /** Sends `message` and waits for the reply that refers to its id. */
  async call(message: { id: number } & Record<string, unknown>): Promise<ServerMessage> {
    this.send(message);
    return this.next((m) => 'ref' in m && m.ref === message.id);
  }

  whenClosed(): Promise<{ code: number; reason: string }> {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  close(): void {
    this.ws.close();
  }

  /** Asserts every frame received so far was valid against the protocol. */
  expectAllValid(): void {
    expect(this.invalid).toEqual([]);
  }
}
