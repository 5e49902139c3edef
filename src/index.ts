/**
 * Hearsay: a blackboard-architecture actor runtime for multi-agent LLM systems.
 *
 * The root entry names what a team is written with: the runtime, agents, the board and its stores, the model
 * client. Everything else has an entry of its own: `hearsay/evals` (the eval harness), `hearsay/testing`
 * (virtual time and a simulated model server), `hearsay/hub` (the hub and the inspector, for embedding),
 * `hearsay/client` (connect to a hub, host remote agents) and `hearsay/postgres` (the PostgreSQL store).
 * Every export is listed by name, on purpose; test/package/exports.test.ts snapshots the lists, so changing
 * one is a visible decision.
 */

// Agents: machines, their declarations, the events they receive and the tools an activation has.
export type {
  ActionArgs,
  ActivationInfo,
  ActivationModelRequest,
  ActivationTools,
  AgentAction,
  AgentConfig,
  AgentDefinition,
  ApprovalDecision,
  ApprovalRequest,
  BoardEvent,
  Budget,
  ChildRunResult,
  CommittedEvent,
  ItemMachineOptions,
  MoveSchemas,
  PoolConfig,
  RejectedEvent,
  RetryPolicy,
  RuntimeEvent,
  SharedWrite,
  StatusPoolOptions,
  StepMachineOptions,
} from './actors/index.js';
export {
  agentActions,
  defineAgent,
  itemMachine,
  legalMoves,
  statusPool,
  stepMachine,
  toMove,
} from './actors/index.js';
// The board: state, commits, the log, stores, time.
export type {
  AnySchema,
  Blackboard,
  BlackboardErrorCode,
  BlackboardOptions,
  BoardLimitName,
  BoardLimits,
  BoardOf,
  BoardSnapshot,
  Clock,
  Commit,
  CommitDraft,
  CommitEvent,
  CommitOptions,
  CommitRejection,
  CommitResult,
  Conflict,
  ConflictingWrite,
  FileStoreOptions,
  FsyncPolicy,
  InvalidCommit,
  InvalidCommitReason,
  LogEvent,
  MessageDraft,
  MessageEvent,
  Patch,
  Path,
  PathOf,
  PreparedCommit,
  PublishResult,
  SchemaIssue,
  SchemaRejection,
  Segment,
  Store,
  SubscribeFilter,
  TooManyConflicts,
  TransactOptions,
  TransactResult,
  Unsubscribe,
} from './blackboard/index.js';
export {
  BlackboardError,
  createBlackboard,
  DEFAULT_BOARD_LIMITS,
  FileStore,
  formatPath,
  Keyed,
  keyed,
  MemoryStore,
  RESERVED_AGENT_IDS,
  systemClock,
} from './blackboard/index.js';
// Models: the client, transports, tools, tallies, untrusted text.
export type {
  ApprovalRefusal,
  ApprovalRefusalCode,
  BudgetGate,
  CachedAnswer,
  ChatMessage,
  EnvModels,
  ModelCache,
  ModelClient,
  ModelClientConfig,
  ModelError,
  ModelEvent,
  ModelRequest,
  ModelResult,
  ModelSuccess,
  OpenAITransportOptions,
  Price,
  Provenance,
  TierConfig,
  ToolCall,
  ToolDefinition,
  ToolRun,
  Transport,
  TransportFailure,
  TransportRequest,
  TransportResponse,
  Untrusted,
  Usage,
  ValidatedToolCall,
} from './llm/index.js';
export {
  asData,
  createModelClient,
  KNOWN_PRICES,
  MemoryModelCache,
  modelsFromEnv,
  openAITransport,
  TransportError,
  untrusted,
  untrustedSchema,
} from './llm/index.js';
export type { CostBreakdown, ObservabilityOptions } from './observability/index.js';
export type { RecordOf, RecordTopic } from './protocol/records.js';
export { readRecord } from './protocol/records.js';
// The runtime: run a team, resume it, answer approvals, serve it.
export type {
  ApprovalResult,
  DeleteRunResult,
  Listening,
  ListenOptions,
  ParentLink,
  ResumedRuns,
  ResumeFailure,
  RetentionPolicy,
  RunHandle,
  RunOptions,
  RunResult,
  Runtime,
  RuntimeConfig,
  RuntimeFootprint,
} from './runtime/index.js';
export { createRuntime, DEFAULT_MEMORY_RETENTION } from './runtime/index.js';
export type {
  DeclinedApproval,
  PendingApproval,
  RunFailure,
  RunLimits,
  RunOutcome,
  RunWarning,
} from './scheduler/index.js';
export { TOPICS } from './scheduler/index.js';
export type { WorkerOptions, WorkerStats } from './workers/worker.js';
