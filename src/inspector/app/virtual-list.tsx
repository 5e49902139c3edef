import type { ComponentChildren } from 'preact';
import { useLayoutEffect, useRef, useState } from 'preact/hooks';

/**
 * A list that renders only the rows in view (plus a margin), however many it holds: a run's log of
 * 10,000 commits keeps a few dozen rows in the DOM. While scrolled to the bottom it follows new rows.
 */
export function VirtualList<T>(props: {
  items: readonly T[];
  rowHeight: number;
  height: number;
  row: (item: T, index: number) => ComponentChildren;
  testId?: string;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const following = useRef(true);
  /** Where the list was when it last looked (its own scroll, or a scroll event). */
  const seen = useRef(0);
  const { items, rowHeight, height } = props;
  const atBottom = (el: HTMLDivElement) => el.scrollTop + el.clientHeight >= el.scrollHeight - rowHeight * 2;

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    // Moved since the list last looked, and the scroll event has not come yet: the reader scrolled, so
    // the reader decides whether the list follows (a render in between once took them back to the bottom).
    if (el.scrollTop !== seen.current) following.current = atBottom(el);
    if (following.current && el.scrollTop + el.clientHeight < el.scrollHeight) el.scrollTop = el.scrollHeight;
    seen.current = el.scrollTop;
    if (el.scrollTop !== scrollTop) setScrollTop(el.scrollTop);
  });

  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - 10);
  const last = Math.min(items.length, first + Math.ceil(height / rowHeight) + 20);
  const rows: ComponentChildren[] = [];
  for (let i = first; i < last; i++) {
    rows.push(
      <div class="vrow" key={i} style={{ top: `${i * rowHeight}px`, height: `${rowHeight}px` }}>
        {props.row(items[i]!, i)}
      </div>,
    );
  }
  return (
    <div
      ref={ref}
      class="vlist"
      data-testid={props.testId}
      data-count={items.length}
      style={{ height: `${height}px` }}
      onScroll={(e) => {
        const el = e.currentTarget as HTMLDivElement;
        following.current = atBottom(el);
        seen.current = el.scrollTop;
        setScrollTop(el.scrollTop);
      }}
    >
      <div class="vspace" style={{ height: `${items.length * rowHeight}px` }}>
        {rows}
      </div>
    </div>
  );
}
