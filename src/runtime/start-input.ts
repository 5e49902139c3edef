import {
  type AnySchema,
  type BoardLimits,
  type Commit,
  createBlackboard,
  type Store,
} from '../blackboard/index.js';

/** The commit that puts a run's input on its board: each top-level key replaced. */
export const inputCommit = (baseVersion: number, input: object): Commit => ({
  baseVersion,
  reads: [],
  patches: Object.entries(input).map(([key, value]) => ({ op: 'add' as const, path: [key], value })),
  author: 'input',
  // One input per run: a start whose answer was lost in an outage finds it when tried again.
  idempotencyKey: INPUT_COMMIT_KEY,
});

/** The idempotency key of a run's input commit (unlike any step's `<activation>:<n>`). */
export const INPUT_COMMIT_KEY = 'hearsay.input';

/** The error a run start refused for its input throws. */
export const inputRefused = (why: string): TypeError =>
  new TypeError(`The run's input does not fit the board: ${why}`);

/**
 * Throws (as a start refused for its input does) unless `input` fits a fresh board: checked on a board in
 * memory, before the run's store sees anything, so a refused start leaves nothing behind.
 */
export async function checkRunInput(
  board: { readonly schema: AnySchema; readonly initial: unknown; readonly limits?: Partial<BoardLimits> },
  input: object | undefined,
): Promise<void> {
  if (!input || Object.keys(input).length === 0) return;
  const dry = await createBlackboard({
    schema: board.schema,
    initial: board.initial,
    ...(board.limits ? { limits: board.limits } : {}),
  });
  try {
    const r = await dry.commit(inputCommit(dry.version, input));
    if (!r.ok) throw inputRefused(r.error.message);
  } finally {
    await dry.close();
  }
}

/**
 * After a start failed with its run opened: closes the board and, when nothing reached the run's log, deletes
 * the run the opening created (an empty run would be listed, and resumed, for ever). Best effort: the start's
 * own error is what the caller sees; a leftover is reported by `resumeAll` as `empty`.
 */
export async function discardStart(
  store: Store,
  board: { readonly runId: string; readonly seq: number; close(): Promise<void> },
): Promise<void> {
  await board.close().catch(() => undefined);
  if (board.seq === 0) await store.deleteRun(board.runId).catch(() => undefined);
}
