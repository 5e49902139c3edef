export type {
  ClientMessage,
  ClientMessageOf,
  FrameError,
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
