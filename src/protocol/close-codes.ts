/**
 * The WebSocket close codes a hub ends a connection with, beyond the standard ones (1008 policy, 1009 too
 * big). Shared by the hub, which sends them, and the client, which names them ({@link closeReasonOf}).
 *
 * @example
 * import { CLOSE_CODES } from 'hearsay/client';
 * if (event.code === CLOSE_CODES.slowConsumer) console.log('read faster, then resume from the last seq');
 */
export const CLOSE_CODES = {
  /** The client fell too far behind (its unsent data passed the hub's bound): reconnect and resume from the last seq received. */
  slowConsumer: 4008,
  /** The client kept sending faster than its rate limit. */
  rateLimited: 4029,
  /** The hub is shutting down. */
  goingAway: 1001,
} as const;

/**
 * Why a connection to a hub ended, as a client reports it.
 *
 * @example
 * connect(url, { token, onClose: (c) => c.reason === 'slow_consumer' && console.warn('reading too slowly') });
 */
export type CloseReason =
  /** The client closed it. */
  | 'normal'
  /** The hub is shutting down (1001). */
  | 'going_away'
  /** The hub cut the client off for reading too slowly (4008); it resumes from its last seq on reconnection. */
  | 'slow_consumer'
  /** The client sent faster than its rate limit (4029). */
  | 'rate_limited'
  /** The client sent a frame over the hub's size limit (1009). */
  | 'too_big'
  /** The hub ended it for breaking its rules (1008). */
  | 'policy'
  /** The hub failed (1011). */
  | 'internal'
  /** The connection dropped without a close frame (1006): a network failure or a killed peer. */
  | 'abnormal'
  /** Any other code. */
  | 'other';

/**
 * How a client learns why its connection ended: the close code and reason, and their name.
 *
 * @example
 * client.lastClose; // { reason: 'slow_consumer', code: 4008, message: 'slow consumer: reconnect and resume from your last seq' }
 */
export interface ConnectionClosed {
  readonly reason: CloseReason;
  readonly code: number;
  /** The text the hub gave with its close frame (empty when there was none). */
  readonly message: string;
}

/**
 * Names a close code.
 *
 * @example
 * closeReasonOf(4008); // 'slow_consumer'
 */
export function closeReasonOf(code: number): CloseReason {
  switch (code) {
    case 1000:
    case 1005:
      return 'normal';
    case CLOSE_CODES.goingAway:
      return 'going_away';
    case CLOSE_CODES.slowConsumer:
      return 'slow_consumer';
    case CLOSE_CODES.rateLimited:
      return 'rate_limited';
    case 1009:
      return 'too_big';
    case 1008:
      return 'policy';
    case 1011:
      return 'internal';
    case 1006:
      return 'abnormal';
    default:
      return 'other';
  }
}
