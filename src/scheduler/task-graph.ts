/**
 * The run's delegations as a graph of agents: an edge from A to B while a task A delegated to B is open.
 * A delegation that would close a cycle is refused, so the graph stays acyclic.
 */
export class TaskGraph {
  private readonly edges = new Map<string, Map<string, number>>();

  /** The cycle `[from, to, …, from]` that adding from → to would close, or undefined. */
  cycleIf(from: string, to: string): string[] | undefined {
    if (from === to) return [from, to];
    const back = this.pathBetween(to, from);
    return back ? [from, ...back] : undefined;
  }

  add(from: string, to: string): void {
    const out = this.edges.get(from) ?? new Map<string, number>();
    out.set(to, (out.get(to) ?? 0) + 1);
    this.edges.set(from, out);
  }

  /** Closes one open delegation from → to. */
  remove(from: string, to: string): void {
    const out = this.edges.get(from);
    const n = out?.get(to);
    if (!out || n === undefined) return;
    if (n > 1) out.set(to, n - 1);
    else out.delete(to);
  }

  private pathBetween(start: string, goal: string): string[] | undefined {
    const seen = new Set<string>([start]);
    const stack: string[][] = [[start]];
    while (stack.length > 0) {
      const path = stack.pop()!;
      const last = path.at(-1)!;
      if (last === goal) return path;
      for (const next of this.edges.get(last)?.keys() ?? []) {
        if (!seen.has(next)) {
          seen.add(next);
          stack.push([...path, next]);
        }
      }
    }
    return undefined;
  }
}
