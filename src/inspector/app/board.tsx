import { useEffect, useState } from 'preact/hooks';
import type { HearsayClient } from '../../client/client.js';
import { pathKey, type RunModel } from './model.js';

/** Children shown per page of a large object or array. */
const PAGE = 100;

/**
 * The board as a collapsible tree. The newest commit's paths are highlighted with their author; every
 * changed node says who changed it last. The slider steps back through versions (`board_at` on the hub).
 */
export function Board({ model, client }: { model: RunModel; client: HearsayClient }) {
  const [expanded, setExpanded] = useState<Set<string>>(() => new Set());
  const [collapsed, setCollapsed] = useState<Set<string>>(() => new Set());
  const [at, setAt] = useState<number | undefined>();
  const [past, setPast] = useState<{ version: number; state: unknown; error?: string } | undefined>();
  const head = model.version;

  useEffect(() => {
    if (at === undefined) return setPast(undefined);
    let current = true;
    // Debounced: dragging the slider asks only for the version it rests on.
    const timer = setTimeout(() => {
      client.boardAt(model.runId, at).then(
        (state) => current && setPast({ version: at, state }),
        (error: unknown) => current && setPast({ version: at, state: undefined, error: String(error) }),
      );
    }, 120);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [at, model.runId]);

  const historic = at !== undefined;
  const state = historic ? past?.state : model.board;
  const marked = new Map<string, string>();
  const within = new Set<string>();
  if (!historic && model.lastCommit) {
    for (const p of model.lastCommit.paths) {
      marked.set(pathKey(p), model.lastCommit.author);
      for (let i = 0; i < p.length; i++) within.add(pathKey(p.slice(0, i)));
    }
  }
  const isOpen = (key: string, depth: number, size: number) =>
    expanded.has(key) || (!collapsed.has(key) && (depth < 2 || within.has(key)) && size <= PAGE);
  const toggle = (key: string, open: boolean) => {
    const e = new Set(expanded);
    const c = new Set(collapsed);
    if (open) {
      c.delete(key);
      e.add(key);
    } else {
      e.delete(key);
      c.add(key);
    }
    setExpanded(e);
    setCollapsed(c);
  };

  return (
    <div class="board" data-testid="board">
      <div class="slider">
        <input
          type="range"
          min={0}
          max={head}
          value={at ?? head}
          data-testid="version-slider"
          onInput={(e) => {
            const v = Number((e.target as HTMLInputElement).value);
            setAt(v >= head ? undefined : v);
          }}
        />
        <span data-testid="board-version">
          {historic ? `v${at} of ${head}` : `v${head} (live)`}
        </span>
        {historic && (
          <button type="button" onClick={() => setAt(undefined)}>
            live
          </button>
        )}
      </div>
      {!historic && model.lastCommit && (
        <div class="last-commit" data-testid="last-commit">
          v{model.lastCommit.version} by <strong>{model.lastCommit.author}</strong>:{' '}
          {model.lastCommit.paths.map((p) => p.join('.')).join(', ')}
        </div>
      )}
      {historic && past?.error && <div class="error">{past.error}</div>}
      <div class="tree">
        {state === undefined ? (
          <span class="muted">{historic ? 'loading…' : 'waiting for the snapshot…'}</span>
        ) : (
          <Node
            name="board"
            value={state}
            path={[]}
            depth={0}
            ctx={{ model, marked, within, isOpen, toggle, historic }}
          />
        )}
      </div>
    </div>
  );
}

interface TreeContext {
  model: RunModel;
  marked: Map<string, string>;
  within: Set<string>;
  isOpen(key: string, depth: number, size: number): boolean;
  toggle(key: string, open: boolean): void;
  historic: boolean;
}

function Node(props: { name: string; value: unknown; path: (string | number)[]; depth: number; ctx: TreeContext }) {
  const { name, value, path, depth, ctx } = props;
  const key = pathKey(path);
  const [shown, setShown] = useState(PAGE);
  const author = ctx.marked.get(key);
  const last = ctx.historic ? undefined : ctx.model.changes.get(key);
  const cls = `node${author ? ' changed' : ctx.within.has(key) && path.length > 0 ? ' changed-within' : ''}`;
  const title = last ? `last changed by ${last.author} at v${last.version}` : undefined;
  if (value === null || typeof value !== 'object') {
    return (
      <div class={cls} data-path={path.join('.')} title={title}>
        <span class="key">{name}</span>: <span class={`val ${typeof value}`}>{JSON.stringify(value)}</span>
        {author && <span class="by">← {author}</span>}
      </div>
    );
  }
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : Object.entries(value as Record<string, unknown>);
  const open = ctx.isOpen(key, depth, entries.length);
  const brief = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
  return (
    <div class={cls} data-path={path.join('.')} title={title}>
      <button type="button" class="twisty" onClick={() => ctx.toggle(key, !open)}>
        {open ? '▾' : '▸'}
      </button>
      <span class="key">{name}</span> <span class="muted">{brief}</span>
      {author && <span class="by">← {author}</span>}
      {open && (
        <div class="children">
          {entries.slice(0, shown).map(([k, v]) => (
            <Node key={String(k)} name={String(k)} value={v} path={[...path, k]} depth={depth + 1} ctx={ctx} />
          ))}
          {entries.length > shown && (
            <button type="button" class="more" onClick={() => setShown(shown + PAGE)}>
              {entries.length - shown} more…
            </button>
          )}
        </div>
      )}
    </div>
  );
}
