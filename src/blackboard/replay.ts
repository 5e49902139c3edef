import { BlackboardError } from './errors.js';
import type { CommitEvent } from './events.js';
import { applyPatches } from './patches.js';
import { type AnySchema, revivePatch } from './schema.js';

/**
 * Applies a commit read back from the log to `state`: the one way every reopening path rebuilds a board
 * (reopening a run, `at(version)`, catching up with other writers, a resumed run). A store keeps values as
 * JSON, where a {@link Keyed} collection is a plain object: each patch's value is revived through the
 * board's schema first, exactly as the live board revived it when the commit was accepted, so the rebuilt
 * board equals the live one, collections included. Throws `corrupt_log` when a commit does not apply.
 */
export function replayCommit<TState>(schema: AnySchema, state: TState, event: CommitEvent): TState {
  const applied = applyPatches(
    state,
    event.patches.map((p) => revivePatch(schema, p)),
  );
  if (!applied.ok) {
    throw new BlackboardError(
      'corrupt_log',
      `Commit seq ${event.seq} does not apply: ${applied.error.message}`,
      {
        details: event,
      },
    );
  }
  return applied.state;
}
