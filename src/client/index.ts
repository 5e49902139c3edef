export * from '../protocol/index.js';
export type {
  ClientOptions,
  ConnectErrorCode,
  FollowOptions,
  RunStream,
  WebSocketConstructor,
  WebSocketLike,
} from './client.js';
export { connect, HearsayClient, HubError } from './client.js';
export type { HostAgentsOptions, HostedAgents } from './host-agents.js';
export { hostAgents } from './host-agents.js';
