export type {
  AgentInfo,
  ClientMessage,
  ClientMessageOf,
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
