export type { BlackboardOptions, BoardOf, PublishResult } from './blackboard.js';
export { Blackboard, createBlackboard } from './blackboard.js';
export type { Clock } from './clock.js';
export { sleepOn, systemClock } from './clock.js';
export type {
  BlackboardErrorCode,
  CommitRejection,
  Conflict,
  ConflictingWrite,
  Fence,
  Fenced,
  InvalidCommit,
  InvalidCommitReason,
  SchemaIssue,
  SchemaRejection,
  TooManyConflicts,
} from './errors.js';
export { BlackboardError } from './errors.js';
export type { CommitDraft, CommitEvent, LogEvent, MessageDraft, MessageEvent, Patch } from './events.js';
export type { SubscribeFilter, Unsubscribe } from './feed.js';
export { topicMatches } from './feed.js';
export { Keyed } from './keyed.js';
export type { BoardLimitName, BoardLimits } from './limits.js';
export { DEFAULT_BOARD_LIMITS } from './limits.js';
export { applyPatches } from './patches.js';
export type { Path, PathOf, Segment } from './path.js';
export { coverPaths, formatPath, isPath, isPrefix, pathsOverlap } from './path.js';
export { PathIndex } from './path-index.js';
export {
  assertAgentIdAllowed,
  isReservedAgentId,
  RESERVED_AGENT_IDS,
  ReservedAgentIdError,
} from './reserved-authors.js';
export { checkRunId, MAX_RUN_ID_LENGTH, runIdProblem } from './run-id.js';
export type { AnySchema } from './schema.js';
export { getIn, keyed, revive } from './schema.js';
export type { EndedRun, LogHead, OpenedRun, Store, StoreCommitResult, StoredSnapshot } from './store.js';
export type { FileStoreOptions, FsyncPolicy, RecoveryReport } from './stores/file-store.js';
export { FileStore, logFileOf, readLog, readSnapshots } from './stores/file-store.js';
export { MemoryStore } from './stores/memory-store.js';
export type {
  CommitOptions,
  PreparedCommit,
  Transactable,
  TransactOptions,
  TransactResult,
} from './transact.js';
export { prepareCommit, transact } from './transact.js';
export type { BoardSnapshot, Commit, CommitResult } from './types.js';
export type { WaitOutOptions } from './wait-out.js';
export { commitWaitingOut, OUTAGE_FIRST_WAIT_MS, OUTAGE_MAX_WAIT_MS, waitOut } from './wait-out.js';
