export { checkWorkerNames, MAX_WORKER_NAME_LENGTH } from './names.js';
export { QueueSender } from './sender.js';
export type {
  ActivationKey,
  ActivationQueue,
  Claim,
  ClaimRequest,
  QueueHint,
  StepMessage,
  StepResult,
} from './types.js';
export { activationKeyOf, fenceOf, isActivationQueue } from './types.js';
export { ActivationWorker, type WorkerOptions, type WorkerStats } from './worker.js';
