import { randomUUID } from 'node:crypto';
import {
  type AnySchema,
  type BoardLimits,
  type Commit,
  createBlackboard,
  type Store,
} from '../blackboard/index.js';

/** The commit that puts a run's input on its board: each top-level key replaced. */
export const inputCommit = (baseVersion: number, input: object, nonce: string = randomUUID()): Commit => ({
  baseVersion,
  // It reads the whole board: a second start of the same run, racing this one, conflicts with it.
  reads: [[]],
  patches: Object.entries(input).map(([key, value]) => ({ op: 'add' as const, path: [key], value })),
  author: 'input',
  // This start's own key: tried again after an answer lost in an outage, it finds its own commit (and
  // never another start's). A deterministic runtime gives a nonce of its seed, so that its log replays.
  idempotencyKey: `hearsay.input:${nonce}`,
});

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
  // Only while the run is empty in the store itself: another process may have begun it meanwhile.
  if (board.seq === 0) await store.deleteRun(board.runId, { ifEmpty: true }).catch(() => undefined);
}
