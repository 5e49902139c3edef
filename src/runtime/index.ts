export type {
  ApprovalResult,
  RunHandle,
  RunOptions,
  RunResult,
  Runtime,
  RuntimeConfig,
} from './create-runtime.js';
export { createRuntime } from './create-runtime.js';
