export type { AdmissionInput, Refusal } from './admission.js';
export { admit, shallower } from './admission.js';
export type { ApprovalDeskContext, Asker, OperatorDecision } from './approval-desk.js';
export { ApprovalDesk } from './approval-desk.js';
export type { DeclinedApproval, PendingApproval, RecordedApproval } from './approvals.js';
export {
  APPROVAL_AUTHORS,
  approvalsFrom,
  argsHashOf,
  declinedOf,
  describeDeclined,
  pendingOf,
  runOfRequest,
} from './approvals.js';
export { addUsage, emptySpent, tighterBudget } from './budget.js';
export { VirtualClock } from './clock.js';
export type {
  ActivationRecord,
  AgendaItem,
  AgendaRecord,
  Enabler,
  RefusalReason,
  SpanRecord,
} from './events.js';
export { stepCommitKey, TOPICS } from './events.js';
export type { RunWarning } from './idle-pools.js';
export type { QuiescenceFacts } from './outcome.js';
export { quiescentOutcome } from './outcome.js';
export type { RankInput } from './rank.js';
export { permutation, rankCandidates, seededRandom } from './rank.js';
export type { ResumeState } from './resume.js';
export { resumeStateFrom } from './resume.js';
export { RunScheduler } from './run-scheduler.js';
export { containsUntrusted, TaintTracker } from './taint.js';
export { TaskGraph } from './task-graph.js';
export type {
  ChildRunContext,
  ChildStarter,
  ModelCallContext,
  ModelCaller,
  RunFailure,
  RunLimits,
  RunObserver,
  RunOutcome,
  RunSchedulerOptions,
  SchedulerResult,
  Spent,
  ToolRunner,
} from './types.js';
export { WatchIndex } from './watch-index.js';
