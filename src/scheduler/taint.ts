import { type CommitEvent, type Path, pathsOverlap } from '../blackboard/index.js';

/** True when `value` holds model output marked by `untrusted()` (a `{ value, provenance: { kind: 'model' } }`). */
export function containsUntrusted(value: unknown, depth = 0): boolean {
  if (typeof value !== 'object' || value === null || depth > 32) return false;
  const provenance = (value as { provenance?: { kind?: unknown } }).provenance;
  if (provenance && typeof provenance === 'object' && provenance.kind === 'model') return true;
  const children = value instanceof Map ? [...value.values()] : Object.values(value);
  return children.some((v) => containsUntrusted(v, depth + 1));
}

/**
 * Follows taint through a run: an activation is tainted once it calls a model; a commit taints the
 * paths it writes when its activation is tainted or it writes model output; an activation watching a
 * tainted path is tainted. Everything it needs is on the log, so a resumed run can rebuild it.
 */
export class TaintTracker {
  private readonly activations = new Set<string>();
  private readonly paths: Path[] = [];

  markActivation(activationId: string): void {
    this.activations.add(activationId);
  }

  /** Takes note of an accepted commit. */
  observe(event: CommitEvent): void {
    const tainted =
      (event.activationId !== undefined && this.activations.has(event.activationId)) ||
      event.patches.some((p) => containsUntrusted(p.value));
    if (tainted) this.paths.push(...event.writes);
  }

  /** What the tracker knows, to hand to a resumed run. */
  state(): { activations: string[]; paths: Path[] } {
    return { activations: [...this.activations], paths: [...this.paths] };
  }

  restore(state: { activations: readonly string[]; paths: readonly Path[] }): void {
    for (const a of state.activations) this.activations.add(a);
    this.paths.push(...state.paths);
  }

  /** Whether an activation (with the paths its agent watches) has seen tainted data. */
  isTainted(activationId: string, watches: readonly Path[]): boolean {
    if (this.activations.has(activationId)) return true;
    return watches.some((w) => this.paths.some((t) => pathsOverlap(w, t)));
  }
}
