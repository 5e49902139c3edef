export type {
  ClientMessage,
  ClientMessageOf,
  FrameError,
  MessageFilter,
  ParsedFrame,
  ProtocolErrorCode,
  RunInfo,
  ServerMessage,
  ServerMessageOf,
} from './messages.js';
export {
  agentOf,
  ClientMessageSchema,
  PatchSchema,
  PathSchema,
  PROTOCOL_VERSION,
  parseClientFrame,
  parseServerFrame,
  passesFilter,
  RunInfoSchema,
  ServerMessageSchema,
} from './messages.js';
