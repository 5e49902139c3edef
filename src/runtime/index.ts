export type {
  ApprovalResult,
  DeleteRunResult,
  Listening,
  ListenOptions,
  ParentLink,
  RunHandle,
  RunOptions,
  RunResult,
  Runtime,
  RuntimeConfig,
  RuntimeFootprint,
} from './create-runtime.js';
export { createRuntime } from './create-runtime.js';
export type { HubSourceDeps } from './hub-source.js';
export { RemoteAgentHost, RemoteAgents } from './remote-agents.js';
export type { ResumedRuns, ResumeFailure } from './resume-report.js';
export type { RetentionPolicy } from './retention.js';
export { DEFAULT_MEMORY_RETENTION, runsToDrop } from './retention.js';
