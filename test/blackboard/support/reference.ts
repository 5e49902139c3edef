import type { Patch, Path } from '../../../src/index.js';

/**
 * A deliberately naive model of the board for checking the real one: plain JSON, deep-copied on every
 * patch, Keyed collections as plain objects. Shares no code with src/.
 */
export function applyNaive(state: unknown, patches: readonly Patch[]): unknown {
  let root = structuredClone(state);
  for (const p of patches) {
    if (p.path.length === 0) {
      root = structuredClone(p.value);
      continue;
    }
    let node = root as Record<string, unknown>;
    for (const seg of p.path.slice(0, -1)) node = node[String(seg)] as Record<string, unknown>;
    const last = p.path.at(-1)!;
    const value = p.value === undefined ? undefined : JSON.parse(JSON.stringify(p.value));
    if (Array.isArray(node)) {
      const i = Number(last);
      if (p.op === 'add') node.splice(i, 0, value);
      else if (p.op === 'remove') node.splice(i, 1);
      else node[i] = value;
    } else if (p.op === 'remove') delete node[String(last)];
    else node[String(last)] = value;
  }
  return root;
}

/** True when one path is the other, an ancestor or a descendant (written independently of src/). */
export function overlapsNaive(a: Path, b: Path): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (String(a[i]) !== String(b[i])) return false;
  return true;
}

/** Plain JSON of a board value. */
export const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));
