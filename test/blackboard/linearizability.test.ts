import { describe, expect, it } from 'vitest';
import { type HistoryOp, isLinearizable, type SequentialModel } from './support/linearizability.js';

type In = { op: 'write' | 'read'; v?: number };
const register: SequentialModel<number, In, number> = {
  init: 0,
  step: (s, input, output) => (input.op === 'write' ? input.v! : s === output ? s : undefined),
  key: String,
};
const op = (input: In, output: number, call: number, ret: number): HistoryOp<In, number> => ({
  input,
  output,
  call,
  ret,
});

describe('the linearizability checker (test support)', () => {
  it('accepts a sequential history', () => {
    expect(isLinearizable([op({ op: 'write', v: 1 }, 0, 1, 2), op({ op: 'read' }, 1, 3, 4)], register)).toBe(
      true,
    );
  });

  it('accepts a read overlapping a write that sees either value', () => {
    const w = op({ op: 'write', v: 1 }, 0, 1, 4);
    expect(isLinearizable([w, op({ op: 'read' }, 0, 2, 3)], register)).toBe(true);
    expect(isLinearizable([w, op({ op: 'read' }, 1, 2, 3)], register)).toBe(true);
  });

  it('rejects a read of a stale value after the write returned', () => {
    expect(isLinearizable([op({ op: 'write', v: 1 }, 0, 1, 2), op({ op: 'read' }, 0, 3, 4)], register)).toBe(
      false,
    );
  });

  it('rejects reads that see the new value and then the old one', () => {
    const history = [
      op({ op: 'write', v: 1 }, 0, 1, 10),
      op({ op: 'read' }, 1, 2, 3),
      op({ op: 'read' }, 0, 4, 5),
    ];
    expect(isLinearizable(history, register)).toBe(false);
  });
});
