/** What the scheduler knows of a candidate when ranking. */
export interface RankInput {
  readonly agentId: string;
  readonly key?: string;
  readonly priority: number;
  /** Scheduler tick of the agent's last activation (-1: never). */
  readonly lastActivated: number;
  /** Registration order, or its seeded permutation in deterministic mode. */
  readonly order: number;
}

/**
 * Orders candidates: priority (high first), then the least recently activated, then registration
 * order; item keys break what remains, so the order is total and replays identically.
 */
export function rankCandidates<T extends RankInput>(candidates: readonly T[]): T[] {
  return [...candidates].sort(
    (a, b) =>
      b.priority - a.priority ||
      a.lastActivated - b.lastActivated ||
      a.order - b.order ||
      compareKeys(a.key ?? '', b.key ?? ''),
  );
}

/**
 * Item keys in code-unit order: the same on every machine (`localeCompare` follows the host's locale, so a
 * seeded replay could order items differently elsewhere) and without ICU's cost per comparison.
 */
const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A small seeded PRNG (mulberry32): the same seed gives the same sequence everywhere. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A permutation of 0..n-1 drawn from `random` (Fisher–Yates). */
export function permutation(n: number, random: () => number): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
