export type {
  ApprovalResult,
  Listening,
  ListenOptions,
  RunHandle,
  RunOptions,
  RunResult,
  Runtime,
  RuntimeConfig,
} from './create-runtime.js';
export { createRuntime } from './create-runtime.js';
export type { HubSourceDeps } from './hub-source.js';
export { RemoteAgentHost, RemoteAgents } from './remote-agents.js';
