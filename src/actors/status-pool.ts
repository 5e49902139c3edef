/**
 * The options of `statusPool`: which status marks an item to work on (`open`) and which one a claim sets
 * (`claimed`), typed against the items' `status`. Each may be left out only when the item's statuses
 * include its default (`'open'`, `'claimed'`); a `filter` narrows the open items.
 *
 * @example
 * // tasks: Keyed<{ status: 'todo' | 'doing' | 'done'; kind: string }>
 * pool: statusPool((b) => b.tasks, { open: 'todo', claimed: 'doing', filter: (t) => t.kind === 'code' })
 */
export type StatusPoolOptions<TItem extends { status: string }> = StatusName<'open', TItem['status']> &
  StatusName<'claimed', TItem['status']> & {
    /** Only the open items this returns true for (a pure function of the item and its key). */
    readonly filter?: (item: TItem, key: string) => boolean;
  };

/** `open`/`claimed`: optional when the status type has the default name, required otherwise. */
type StatusName<TName extends 'open' | 'claimed', TStatus extends string> = TName extends TStatus
  ? { readonly [K in TName]?: TStatus }
  : { readonly [K in TName]: TStatus };

/** statusPool's options argument: optional only when both defaults are statuses the items can have. */
export type StatusPoolArgs<TItem extends { status: string }> = 'open' extends TItem['status']
  ? 'claimed' extends TItem['status']
    ? [options?: StatusPoolOptions<TItem>]
    : [options: StatusPoolOptions<TItem>]
  : [options: StatusPoolOptions<TItem>];

/** The statuses a pool uses, checked: two different non-empty strings (a misuse throws). */
export function statusNames(options: { open?: unknown; claimed?: unknown }): {
  open: string;
  claimed: string;
} {
  const open = options.open ?? 'open';
  const claimed = options.claimed ?? 'claimed';
  for (const [name, value] of [
    ['open', open],
    ['claimed', claimed],
  ] as const)
    if (typeof value !== 'string' || value === '')
      throw new TypeError(
        `statusPool: ${name} must be a status name (a non-empty string), not ${JSON.stringify(value)}.`,
      );
  if (open === claimed)
    throw new TypeError(
      `statusPool: open and claimed are both "${open}": a claimed item would be offered again. Name two statuses.`,
    );
  return { open: open as string, claimed: claimed as string };
}

/** Distinct statuses named in a diagnosis before the rest are counted. */
const NAMED_STATUSES = 5;

/**
 * Why a status pool offers nothing when that looks like a mistake: the collection has items, and not one
 * is open or claimed (their statuses are other names, or they have no status field). Undefined otherwise.
 */
export function diagnoseStatuses(
  entries: Iterable<[string, unknown]>,
  open: string,
  claimed: string,
): string | undefined {
  const counts = new Map<string, number>();
  let items = 0;
  for (const [, item] of entries) {
    items += 1;
    const status = (item as { status?: unknown } | null)?.status;
    if (status === open || status === claimed) return undefined;
    const name = typeof status === 'string' ? JSON.stringify(status) : 'no status field';
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  if (items === 0) return undefined;
  const seen = [...counts].sort((a, b) => b[1] - a[1]);
  const named = seen
    .slice(0, NAMED_STATUSES)
    .map(([name, n]) => `${name} ×${n}`)
    .join(', ');
  const more = seen.length > NAMED_STATUSES ? ` and ${seen.length - NAMED_STATUSES} more` : '';
  return (
    `its pool offered no item: none of the ${items} items has status "${open}" (their statuses: ${named}${more}). ` +
    `If that status means something else on this board, name it: statusPool(collection, { open: '…', claimed: '…' }).`
  );
}
