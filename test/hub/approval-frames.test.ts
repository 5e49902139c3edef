/**
 * Issue 18: the hub's `approval` frame always names its request, so its type says so (`requestId:
 * string`, not optional). A log record that names none is sent as a plain `message` frame, and a frame
 * without one is not a valid approval frame.
 */
import { parseServerFrame, type ServerMessageOf } from 'hearsay/client';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { LogEvent } from '../../src/blackboard/index.js';
import { toServerMessage } from '../../src/hub/translate.js';

const record = (payload: Record<string, unknown>, author = 'scheduler'): LogEvent =>
  ({
    type: 'message',
    runId: 'r1',
    seq: 3,
    time: 1,
    version: 2,
    topic: 'hearsay.approval',
    author,
    payload,
  }) as LogEvent;

describe('approval frames', () => {
  it('type requestId as always present', () => {
    expectTypeOf<ServerMessageOf<'approval'>['requestId']>().toEqualTypeOf<string>();
  });

  it('carry the request id of every approval record the runtime writes', () => {
    for (const [phase, author] of [
      ['requested', 'scheduler'],
      ['escalated', 'scheduler'],
      ['answered', 'operator'],
      ['used', 'scheduler'],
      ['refused', 'scheduler'],
    ] as const) {
      const m = toServerMessage(record({ phase, requestId: 'r1/a#1:1:h' }, author));
      expect(m).toMatchObject({ type: 'approval', phase, requestId: 'r1/a#1:1:h' });
      expect(parseServerFrame(JSON.stringify(m))).toMatchObject({
        ok: true,
        message: { requestId: 'r1/a#1:1:h' },
      });
    }
  });

  it('send a record that names no request as a message, and refuse an approval frame without one', () => {
    for (const payload of [
      { phase: 'requested' },
      { phase: 'requested', requestId: '' },
      { phase: 'x', requestId: 7 },
    ]) {
      const m = toServerMessage(record(payload));
      expect(m.type).toBe('message');
      expect(parseServerFrame(JSON.stringify(m)).ok).toBe(true);
    }
    const frame = { v: 1, type: 'approval', runId: 'r1', seq: 3, time: 1, phase: 'requested', record: {} };
    expect(parseServerFrame(JSON.stringify(frame)).ok).toBe(false);
    expect(parseServerFrame(JSON.stringify({ ...frame, requestId: 'r1/a#1:1:h' })).ok).toBe(true);
  });
});
