/**
 * `hearsay/client`: talk to a hub from another process or a browser. `connect` follows runs, writes to
 * boards, answers approvals; `hostAgents` runs agents remotely for a runtime's team. The wire protocol's
 * messages and schemas are here too, for tools that speak it directly.
 */
export type {
  ClientOptions,
  ConnectErrorCode,
  FollowOptions,
  RunStream,
  WebSocketConstructor,
  WebSocketLike,
} from '../client/client.js';
export { connect, HearsayClient, HubError } from '../client/client.js';
export type { HostAgentsOptions, HostedAgents } from '../client/host-agents.js';
export { hostAgents } from '../client/host-agents.js';
export type { CloseReason, ConnectionClosed } from '../protocol/close-codes.js';
export { CLOSE_CODES, closeReasonOf } from '../protocol/close-codes.js';
export { DEFAULT_MAX_FRAME_DEPTH } from '../protocol/frame-depth.js';
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
} from '../protocol/messages.js';
export {
  ClientMessageSchema,
  PROTOCOL_VERSION,
  parseClientFrame,
  parseServerFrame,
  ServerMessageSchema,
} from '../protocol/messages.js';
