export type { CloseReason, ConnectionClosed } from './close-codes.js';
export { CLOSE_CODES, closeReasonOf } from './close-codes.js';
export { DEFAULT_MAX_FRAME_DEPTH, jsonNestingOver } from './frame-depth.js';
export type {
  AgentInfo,
  ClientMessage,
  ClientMessageOf,
  FrameBounds,
  FrameError,
  MessageFilter,
  ParsedFrame,
  PendingApprovalInfo,
  ProtocolErrorCode,
  RunInfo,
  ServerMessage,
  ServerMessageOf,
} from './messages.js';
export {
  AgentInfoSchema,
  agentOf,
  ClientMessageSchema,
  PatchSchema,
  PathSchema,
  PendingApprovalSchema,
  PROTOCOL_VERSION,
  parseClientFrame,
  parseServerFrame,
  passesFilter,
  RunInfoSchema,
  ServerMessageSchema,
} from './messages.js';
export { childRunDepth, childRunId, childRunTeam, parentRunId } from './run-ids.js';
export { TOPICS } from './topics.js';
