import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ClientMessage,
  ClientMessageSchema,
  parseClientFrame,
  parseServerFrame,
  type ServerMessage,
  ServerMessageSchema,
} from '../../src/protocol/index.js';

const log = { v: 1 as const, runId: 'r1', seq: 3, time: 1 };
const enabledBy = { seq: 1, version: 1, paths: [['go']], depth: 0 };

/** One example of every server message type. */
const serverSamples: Record<ServerMessage['type'], ServerMessage> = {
  welcome: {
    v: 1,
    type: 'welcome',
    server: 'hearsay/0.1.0',
    roles: ['inspect'],
    runs: [{ runId: 'r1', status: 'running', version: 1, seq: 2 }],
  },
  snapshot: { v: 1, type: 'snapshot', runId: 'r1', seq: 2, version: 1, state: { n: 1 } },
  commit: {
    ...log,
    type: 'commit',
    version: 2,
    baseVersion: 1,
    author: 'a',
    patches: [{ op: 'replace', path: ['n'], value: 2 }],
    writes: [['n']],
  },
  message: { ...log, type: 'message', version: 2, topic: 'chat', author: 'a', payload: { text: 'hi' } },
  transition: { ...log, type: 'transition', agentId: 'a', from: 'idle', to: 'working', event: 'board' },
  activation: {
    ...log,
    type: 'activation',
    activation: { phase: 'refused', agentId: 'a', reason: 'depth', detail: 'too deep', enabledBy },
  },
  span: {
    ...log,
    type: 'span',
    spanId: 'a#1',
    name: 'agent.a',
    start: 1,
    end: 2,
    status: 'ok',
    attributes: { depth: 1 },
  },
  stream: { ...log, type: 'stream', activationId: 'a#1', delta: 'Hel' },
  approval: { ...log, type: 'approval', phase: 'requested', requestId: 'r1/a#1/1', record: {} },
  outcome: { ...log, type: 'outcome', outcome: 'completed', reason: 'the goal was reached' },
  commit_result: {
    v: 1,
    type: 'commit_result',
    ref: 1,
    ok: false,
    error: { code: 'conflict', message: 'n moved' },
  },
  ack: { v: 1, type: 'ack', ref: 2, result: 'answered' },
  board: { v: 1, type: 'board', ref: 5, runId: 'r1', version: 1, state: { n: 1 } },
  pong: { v: 1, type: 'pong', ref: 3 },
  runs: {
    v: 1,
    type: 'runs',
    ref: 4,
    runs: [
      {
        runId: 'r1',
        status: 'ended',
        outcome: 'completed',
        version: 3,
        seq: 9,
        startedAt: 5,
        tokens: 10,
        cost: 0.5,
      },
    ],
  },
  approvals: {
    v: 1,
    type: 'approvals',
    ref: 6,
    approvals: [
      {
        runId: 'r1',
        requestId: 'r1/payer#1:1:abcdef',
        agentId: 'payer',
        activationId: 'payer#1',
        action: 'transfer_funds',
        args: { to: 'acme', amount: 1 },
        argsHash: 'abcdef',
        summary: 'pay acme',
        version: 3,
      },
    ],
  },
  agents: {
    v: 1,
    type: 'agents',
    ref: 5,
    agents: [
      {
        id: 'writer',
        lifecycle: 'pooled',
        watches: [['tasks']],
        writes: [['tasks'], ['drafts']],
        priority: 1,
        concurrency: 4,
        remote: false,
        budget: { tokens: 1000 },
        machine: { id: 'writer', initial: 'idle', states: { idle: {} } },
      },
    ],
  },
  activate: {
    v: 1,
    type: 'activate',
    dispatch: 'd1',
    runId: 'r1',
    activationId: 'a#1',
    agentId: 'a',
    version: 2,
    changed: [['go']],
    depth: 1,
    attempt: 1,
  },
  abort: { v: 1, type: 'abort', dispatch: 'd1', activationId: 'a#1', reason: 'stopped' },
  error: {
    v: 1,
    type: 'error',
    code: 'invalid_message',
    message: 'bad',
    ref: 4,
    issues: [{ path: ['runId'], message: 'required' }],
  },
};

const clientSamples: Record<ClientMessage['type'], ClientMessage> = {
  hello: { v: 1, type: 'hello', agents: ['a'] },
  subscribe: { v: 1, type: 'subscribe', id: 1, runs: '*', after: { r1: 10 }, filter: { types: ['commit'] } },
  unsubscribe: { v: 1, type: 'unsubscribe', runs: ['r1'] },
  commit: {
    v: 1,
    type: 'commit',
    id: 2,
    runId: 'r1',
    baseVersion: 1,
    reads: [['n']],
    patches: [{ op: 'replace', path: ['n'], value: 2 }],
  },
  publish: { v: 1, type: 'publish', id: 3, runId: 'r1', topic: 'chat', payload: 'hi' },
  approval: { v: 1, type: 'approval', id: 4, requestId: 'r1/a#1/1', approved: false, reason: 'no' },
  agenda: { v: 1, type: 'agenda', id: 5, runId: 'r1', action: 'veto', agentId: 'a' },
  ping: { v: 1, type: 'ping', id: 6 },
  runs: { v: 1, type: 'runs', id: 7 },
  agents: { v: 1, type: 'agents', id: 8 },
  approvals: { v: 1, type: 'approvals', id: 9, runId: 'r1' },
  board_at: { v: 1, type: 'board_at', id: 8, runId: 'r1', version: 0 },
  agent_request: {
    v: 1,
    type: 'agent_request',
    id: 7,
    dispatch: 'd1',
    activationId: 'a#1',
    request: { type: 'charge', usage: { tokens: 3 } },
  },
  activation_result: {
    v: 1,
    type: 'activation_result',
    dispatch: 'd1',
    activationId: 'a#1',
    status: 'settled',
    transitions: [['idle', 'busy', 'board']],
  },
};

describe('the protocol', () => {
  it.each(Object.entries(serverSamples))(
    'round-trips the server message %s through JSON and its schema',
    (_type, m) => {
      const parsed = parseServerFrame(JSON.stringify(m));
      expect(parsed).toEqual({ ok: true, message: m });
    },
  );

  it.each(Object.entries(clientSamples))(
    'round-trips the client message %s through JSON and its schema',
    (_type, m) => {
      expect(parseClientFrame(JSON.stringify(m))).toEqual({ ok: true, message: m });
    },
  );

  it('lists every message type of both unions in the samples above', () => {
    const serverTypes = ServerMessageSchema.options.map((o) => o.shape.type.value).sort();
    const clientTypes = ClientMessageSchema.options.map((o) => o.shape.type.value).sort();
    expect(Object.keys(serverSamples).sort()).toEqual(serverTypes);
    expect(Object.keys(clientSamples).sort()).toEqual(clientTypes);
  });

  it('answers bad frames with typed errors naming the problem', () => {
    expect(parseClientFrame('{"v":1,')).toMatchObject({ ok: false, error: { code: 'bad_json' } });
    expect(parseClientFrame('{"v":7,"type":"ping"}')).toMatchObject({
      ok: false,
      error: { code: 'unsupported_version' },
    });
    expect(parseClientFrame('{"v":1,"type":"commit","id":9,"runId":"r"}')).toMatchObject({
      ok: false,
      error: { code: 'invalid_message', ref: 9, message: expect.stringContaining('baseVersion') },
    });
    expect(parseClientFrame('{"v":1,"type":"ping","extra":true}')).toMatchObject({
      ok: false,
      error: { code: 'invalid_message' },
    });
    expect(parseClientFrame('[]')).toMatchObject({ ok: false, error: { code: 'invalid_message' } });
  });

  it('never throws on any input, and accepts exactly what the schema accepts', () => {
    const samples = Object.values(clientSamples);
    // Valid messages with one field dropped, replaced or added: near misses the parser must judge right.
    const mutated = fc
      .tuple(fc.constantFrom(...samples), fc.string({ maxLength: 12 }), fc.jsonValue(), fc.boolean())
      .map(([m, key, value, drop]) => {
        const copy: Record<string, unknown> = { ...m };
        const keys = Object.keys(copy);
        const k = keys.includes(key) || !drop ? key : (keys[key.length % keys.length] ?? key);
        if (drop) delete copy[k];
        else copy[k] = value;
        return JSON.stringify(copy);
      });
    let accepted = 0;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((j) => JSON.stringify({ v: 1, ...(typeof j === 'object' && j ? j : { j }) })),
          fc.constantFrom(...samples).map((m) => JSON.stringify(m)),
          mutated,
        ),
        (text) => {
          const r = parseClientFrame(text);
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            expect(r).toMatchObject({ ok: false, error: { code: 'bad_json' } });
            return;
          }
          expect(r.ok).toBe(ClientMessageSchema.safeParse(json).success);
          if (r.ok) accepted += 1;
          else expect(r.error.message.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 2000 },
    );
    // Both sides of the judgement were exercised.
    expect(accepted).toBeGreaterThan(100);
  });
});

describe('the version the hub announces', () => {
  it("is package.json's", async () => {
    const { VERSION } = await import('../../src/runtime/version.js');
    const pkg = JSON.parse(await (await import('node:fs/promises')).readFile('package.json', 'utf8')) as {
      version: string;
    };
    expect(VERSION).toBe(pkg.version);
  });
});

describe('child run ids', () => {
  it('are made and read by one format: the team of the last level, and how many levels down', async () => {
    const { childRunDepth, childRunId, childRunTeam } = await import('../../src/protocol/index.js');
    const child = childRunId('nightly/7', 'research', '0123456789abcdef');
    expect(child).toBe('nightly/7/research.01234567');
    const grandchild = childRunId(child, 'deep-dive', 'fedcba9876543210');
    expect(childRunTeam(child)).toBe('research');
    expect(childRunTeam(grandchild)).toBe('deep-dive');
    expect(childRunDepth(grandchild)).toBe(2);
    // A top-level id that merely contains a slash is not a child run.
    expect(childRunTeam('nightly/7')).toBeUndefined();
    expect(childRunDepth('nightly/7')).toBe(0);
  });
});
