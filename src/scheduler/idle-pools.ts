/**
 * Something about a run worth a look that did not stop it. `pool_idle`: a pooled agent never ran, and its
 * pool says why that looks like a mistake (e.g. a `statusPool` looking for `open` items on a board whose
 * items are `todo`).
 *
 * @example
 * for (const w of result.warnings) console.warn(`${w.agentId}: ${w.message}`);
 */
export interface RunWarning {
  readonly code: 'pool_idle';
  readonly agentId: string;
  readonly message: string;
}

/** The `pool_idle` warnings of a run that ends on `board`: pooled agents that never ran, and why. */
export function idlePoolWarnings<TBoard>(
  agents: Iterable<{
    readonly def: {
      readonly id: string;
      readonly pool?: { readonly diagnose?: (board: TBoard) => string | undefined };
    };
    /** -1 for an agent that never ran. */
    readonly lastActivated: number;
  }>,
  board: TBoard,
): RunWarning[] {
  const out: RunWarning[] = [];
  for (const st of agents) {
    const diagnose = st.def.pool?.diagnose;
    if (!diagnose || st.lastActivated !== -1) continue;
    let why: string | undefined;
    try {
      why = diagnose(board);
    } catch {
      // A collection the pool cannot read on this board was reported when `items` threw.
      continue;
    }
    if (why) out.push({ code: 'pool_idle', agentId: st.def.id, message: `agent "${st.def.id}": ${why}` });
  }
  return out;
}
