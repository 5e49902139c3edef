export { createRuntime } from './create-runtime.js';
export type { HubSourceDeps } from './hub-source.js';
export { RemoteAgents } from './remote-agents.js';
export type { RetentionPolicy } from './retention.js';
export { DEFAULT_MEMORY_RETENTION, runsToDrop } from './retention.js';
export type {
  ApprovalResult,
  DeleteRunResult,
  Listening,
  ListenOptions,
  ParentLink,
  ResumedRuns,
  ResumeFailure,
  RunHandle,
  RunOptions,
  RunResult,
  Runtime,
  RuntimeConfig,
  RuntimeFootprint,
} from './types.js';
