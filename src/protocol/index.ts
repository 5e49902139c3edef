export type {
  ClientMessage,
  ClientMessageOf,
  FrameError,
  ParsedFrame,
  ProtocolErrorCode,
  RunInfo,
  ServerMessage,
  ServerMessageOf,
} from './messages.js';
export {
  ClientMessageSchema,
  PatchSchema,
  PathSchema,
  PROTOCOL_VERSION,
  parseClientFrame,
  parseServerFrame,
  RunInfoSchema,
  ServerMessageSchema,
} from './messages.js';
