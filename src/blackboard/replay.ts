import { BlackboardError } from './errors.js';
import type { CommitEvent } from './events.js';
import { type AnySchema, applyRevived } from './schema.js';

/**
 * Applies a commit read back from the log to `state`: the one way every reopening path rebuilds a board
 * (reopening a run, `at(version)`, catching up with other writers, a resumed run). A store keeps values as
 * JSON, where a {@link Keyed} collection is a plain object: the patches are revived and applied by
 * `applyRevived`, the function the live board applied them with when the commit was accepted (each value
 * through the schema at its path, and a union-typed ancestor as a whole), so the rebuilt board equals the
 * live one, collections included. Throws `corrupt_log` when a commit does not apply.
 */
export function replayCommit<TState>(schema: AnySchema, state: TState, event: CommitEvent): TState {
  const applied = applyRevived(schema, state, event.patches);
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
