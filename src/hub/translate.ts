import type { LogEvent } from '../blackboard/index.js';
import { PROTOCOL_VERSION, type ServerMessage } from '../protocol/index.js';

const STREAM_PREFIX = 'hearsay.stream/';

type Payload = Record<string, unknown>;
const asRecord = (p: unknown): Payload => (typeof p === 'object' && p !== null ? (p as Payload) : {});

/**
 * The protocol message for one log event. Runtime records get their own message types (activation,
 * transition, span, stream, approval, outcome); every other message is sent as `message` under its topic.
 */
export function toServerMessage(e: LogEvent): ServerMessage {
  const base = { v: PROTOCOL_VERSION, runId: e.runId, seq: e.seq, time: e.time } as const;
  if (e.type === 'commit') {
    return {
      ...base,
      type: 'commit',
      version: e.version,
      baseVersion: e.baseVersion,
      author: e.author,
      ...(e.activationId === undefined ? {} : { activationId: e.activationId }),
      patches: e.patches as never,
      writes: e.writes as never,
    };
  }
  const p = asRecord(e.payload);
  if (e.author === 'scheduler') {
    switch (e.topic) {
      case 'hearsay.activation':
        return { ...base, type: 'activation', activation: p as never };
      case 'hearsay.transition':
        return { ...base, type: 'transition', ...(p as object) } as ServerMessage;
      case 'hearsay.span':
        return { ...base, type: 'span', ...(p as object) } as ServerMessage;
      case 'hearsay.outcome':
        return {
          ...base,
          type: 'outcome',
          outcome: String(p.outcome),
          reason: String(p.reason),
          ...(typeof p.usage === 'object' && p.usage !== null ? { usage: p.usage as never } : {}),
        };
    }
    if (e.topic.startsWith(STREAM_PREFIX)) {
      return {
        ...base,
        type: 'stream',
        activationId: e.topic.slice(STREAM_PREFIX.length),
        ...(typeof p.agentId === 'string' ? { agentId: p.agentId } : {}),
        delta: String(p.text ?? ''),
      };
    }
  }
  // The scheduler records requests and uses; an operator's answer to a paused run is recorded by the runtime.
  // A record that names no request (none the runtime writes) is not an approval frame: it goes as a message.
  if (
    e.topic === 'hearsay.approval' &&
    (e.author === 'scheduler' || e.author === 'operator') &&
    typeof p.requestId === 'string' &&
    p.requestId !== ''
  ) {
    return { ...base, type: 'approval', phase: String(p.phase), requestId: p.requestId, record: p };
  }
  return {
    ...base,
    type: 'message',
    version: e.version,
    topic: e.topic,
    author: e.author,
    payload: e.payload,
  };
}
