/**
 * `hearsay/store`: the contract a store implements, for writing your own (a team takes any `Store`: the
 * root entry's `MemoryStore` and `FileStore`, `hearsay/postgres`'s `PostgresStore`, or yours). The shapes a
 * store's methods take and return, and what a `FileStore` reports when it recovers a torn log.
 */

export type { Fence, Fenced } from '../blackboard/errors.js';
export type {
  EndedRun,
  LogHead,
  OpenedRun,
  Store,
  StoreCommitResult,
  StoredSnapshot,
} from '../blackboard/store.js';
export type { RecoveryReport } from '../blackboard/stores/file-store.js';
