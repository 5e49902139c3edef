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
  agentOf,
  ClientMessageSchema,
  PatchSchema,
  PathSchema,
  PROTOCOL_VERSION,
  parseClientFrame,
  parseServerFrame,
  RunInfoSchema,
  ServerMessageSchema,
} from './messages.js';
