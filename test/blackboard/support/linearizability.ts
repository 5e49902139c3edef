/**
 * A small Wing–Gong linearizability checker (with Lowe's memoisation of visited configurations): is
 * there an order of the operations, consistent with real time (an operation that returned before
 * another was called comes first), in which a sequential model produces every observed output?
 * None exists on npm; histories in tests are small (a dozen operations), so a search is enough.
 */

export interface HistoryOp<TInput, TOutput> {
  readonly input: TInput;
  readonly output: TOutput;
  /** Logical time of the call. */
  readonly call: number;
  /** Logical time of the return (greater than `call`). */
  readonly ret: number;
}

export interface SequentialModel<TState, TInput, TOutput> {
  readonly init: TState;
  /** The state after `input` if the model could have answered `output`; undefined if it could not. */
  step(state: TState, input: TInput, output: TOutput): TState | undefined;
  /** A canonical string for a state (for memoisation). */
  key(state: TState): string;
}

export function isLinearizable<TState, TInput, TOutput>(
  history: readonly HistoryOp<TInput, TOutput>[],
  model: SequentialModel<TState, TInput, TOutput>,
): boolean {
  const n = history.length;
  const seen = new Set<string>();
  const done = new Array<boolean>(n).fill(false);
  const search = (state: TState, remaining: number): boolean => {
    if (remaining === 0) return true;
    const memo = `${done.map((d) => (d ? '1' : '0')).join('')}|${model.key(state)}`;
    if (seen.has(memo)) return false;
    let minRet = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) if (!done[i]) minRet = Math.min(minRet, history[i]!.ret);
    for (let i = 0; i < n; i++) {
      const op = history[i]!;
      // Only an operation called before every pending one returned may be linearized next.
      if (done[i] || op.call > minRet) continue;
      const next = model.step(state, op.input, op.output);
      if (next === undefined) continue;
      done[i] = true;
      const ok = search(next, remaining - 1);
      done[i] = false;
      if (ok) return true;
    }
    seen.add(memo);
    return false;
  };
  return search(model.init, n);
}

/** Records a concurrent history with a logical clock. */
export class HistoryRecorder<TInput, TOutput> {
  private clock = 0;
  readonly ops: HistoryOp<TInput, TOutput>[] = [];

  async record(input: TInput, run: () => Promise<TOutput>): Promise<TOutput> {
    const call = ++this.clock;
    const output = await run();
    this.ops.push({ input, output, call, ret: ++this.clock });
    return output;
  }
}
