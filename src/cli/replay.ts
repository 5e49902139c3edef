import { applyPatches, formatPath, type LogEvent, type StoredSnapshot } from '../blackboard/index.js';

/** One line of a run's history, for people. */
export function describeEvent(e: LogEvent): string {
  const head = `#${String(e.seq).padEnd(5)} v${String(e.version).padEnd(4)}`;
  if (e.type === 'commit')
    return `${head} commit   ${e.author.padEnd(12)} ${e.writes.map(formatPath).join(', ')}`;
  const p = e.payload as Record<string, unknown>;
  switch (e.topic) {
    case 'hearsay.activation':
      return `${head} ${String(p.phase).padEnd(8)} ${String(p.agentId)}${p.key ? `[${p.key}]` : ''}${p.reason ? `: ${p.reason}` : ''}${p.error ? `: ${p.error}` : ''}${p.detail ? ` (${p.detail})` : ''}`;
    case 'hearsay.approval':
      return `${head} approval ${String(p.phase).padEnd(9)} ${String(p.requestId)}${p.action ? ` ${p.action} ${JSON.stringify(p.args)}` : ''}${p.decision ? ` ${JSON.stringify(p.decision)}` : ''}`;
    case 'hearsay.outcome':
      return `${head} outcome  ${String(p.outcome)}: ${String(p.reason)}`;
    default:
      return `${head} message  ${e.author.padEnd(12)} ${e.topic} ${JSON.stringify(e.payload).slice(0, 120)}`;
  }
}

/**
 * The board at `version`, from the newest snapshot at or before it plus the commits after it, as plain
 * JSON (no schema needed: keyed collections are plain objects in snapshots and patches name entries).
 */
export function boardAt(
  snapshots: readonly StoredSnapshot[],
  events: readonly LogEvent[],
  version: number,
): unknown {
  const base = snapshots.findLast((s) => s.version <= version);
  if (!base) throw new Error(`No snapshot at or before version ${version}.`);
  // applyPatches copies what it changes: the snapshot read from disk is not shared, and needs no copy.
  let state: unknown = base.state;
  for (const e of events) {
    if (e.type !== 'commit' || e.version <= base.version) continue;
    if (e.version > version) break;
    const r = applyPatches(state, e.patches);
    if (!r.ok) throw new Error(`Commit #${e.seq} does not apply: ${r.error.message}`);
    state = r.state;
  }
  return state;
}
