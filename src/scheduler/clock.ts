import { brandClass } from '../blackboard/brand.js';
import { type Clock, sleepOn } from '../blackboard/clock.js';

/**
 * Simulated time for deterministic runs: timers fire only when the clock is advanced, in time order
 * (ties in the order they were set). The runtime advances it whenever everything else is waiting.
 *
 * @example
 * const clock = new VirtualClock();
 * const runtime = createRuntime({ ..., clock, deterministic: { seed: 7 } });
 */
export class VirtualClock implements Clock {
  private time: number;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): number {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(id: unknown): void {
    this.timers.delete(id as number);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time to the earliest timer and fires every timer due then. Returns false if none was set. */
  advanceToNext(): boolean {
    let next: number | undefined;
    for (const t of this.timers.values()) if (next === undefined || t.at < next) next = t.at;
    if (next === undefined) return false;
    this.advanceTo(next);
    return true;
  }

  /** Moves time forward to `time`, firing due timers in order. */
  advanceTo(time: number): void {
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers)
        if (entry[1].at <= time && (!due || entry[1].at < due[1].at)) due = entry;
      if (!due) break;
      this.timers.delete(due[0]);
      this.time = Math.max(this.time, due[1].at);
      due[1].fn();
    }
    this.time = Math.max(this.time, time);
  }
}
brandClass(VirtualClock, 'VirtualClock');
