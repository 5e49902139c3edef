/** Where time comes from. Inject a simulated one in tests (never sleep for ordering). */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };
