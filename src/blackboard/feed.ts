import type { LogEvent } from './events.js';

/** Which events a subscriber wants. */
export interface SubscribeFilter {
  /** Replay the log from this sequence number (inclusive) before following it live. */
  readonly from?: number;
  /** Only these event types. */
  readonly types?: readonly LogEvent['type'][];
  /** Only messages on these topics (commits are not filtered by topic); `prefix*` matches every topic starting with `prefix`. */
  readonly topics?: readonly string[];
  /** Skip events written by this author (an agent following everyone but itself). */
  readonly excludeAuthor?: string;
}

/** Stops a subscription. */
export type Unsubscribe = () => void;

interface Subscriber {
  readonly filter: SubscribeFilter;
  readonly handler: (event: LogEvent) => void;
  /** Highest seq handed over (or skipped by the filter): the guard against duplicates. */
  lastSeq: number;
  /** Live events held back while the replay of history is still being read. */
  buffer: LogEvent[] | undefined;
  active: boolean;
}

/** Whether `topic` is one of `patterns`, where `prefix*` matches every topic starting with `prefix`. */
export const topicMatches = (patterns: readonly string[], topic: string): boolean =>
  patterns.some((t) => (t.endsWith('*') ? topic.startsWith(t.slice(0, -1)) : t === topic));

const matches = (f: SubscribeFilter, e: LogEvent): boolean =>
  (!f.types || f.types.includes(e.type)) &&
  (!f.topics || e.type !== 'message' || topicMatches(f.topics, e.topic)) &&
  (f.excludeAuthor === undefined || e.author !== f.excludeAuthor);

/**
 * Fans the log out to subscribers: replays history from a store read, then follows live events,
 * with no gap and no duplicate (live events that arrive during the replay are buffered, and every
 * delivery is checked against the last sequence number handed over).
 */
export class Feed {
  private readonly subscribers = new Set<Subscriber>();

  constructor(private readonly onHandlerError: (error: unknown, event: LogEvent | undefined) => void) {}

  /**
   * Adds a subscriber. `headSeq` is the last seq already in the log; when `from` is at or before it,
   * `readHistory(from, headSeq)` supplies the replay.
   */
  subscribe(
    filter: SubscribeFilter,
    handler: (event: LogEvent) => void,
    headSeq: number,
    readHistory: (from: number, to: number) => Promise<LogEvent[]>,
  ): Unsubscribe {
    const from = filter.from ?? headSeq + 1;
    const replay = from <= headSeq;
    const sub: Subscriber = {
      filter,
      handler,
      lastSeq: from - 1,
      buffer: replay ? [] : undefined,
      active: true,
    };
    this.subscribers.add(sub);
    if (replay) {
      readHistory(from, headSeq).then(
        (history) => {
          for (const e of history) this.emit(sub, e);
          const held = sub.buffer ?? [];
          sub.buffer = undefined;
          for (const e of held) this.emit(sub, e);
        },
        (error) => {
          this.subscribers.delete(sub);
          this.onHandlerError(error, undefined);
        },
      );
    }
    return () => {
      sub.active = false;
      this.subscribers.delete(sub);
    };
  }

  /** Hands a new event to every subscriber (or to its buffer while it replays). */
  deliver(event: LogEvent): void {
    for (const sub of this.subscribers) {
      if (sub.buffer) sub.buffer.push(event);
      else this.emit(sub, event);
    }
  }

  private emit(sub: Subscriber, event: LogEvent): void {
    if (!sub.active || event.seq <= sub.lastSeq) return;
    sub.lastSeq = event.seq;
    if (!matches(sub.filter, event)) return;
    try {
      sub.handler(event);
    } catch (error) {
      this.onHandlerError(error, event);
    }
  }
}
