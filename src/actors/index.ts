export type { ActionArgs, AgentAction, AgentRequest } from './actions.js';
export { agentActions, isAgentRequest } from './actions.js';
export type { AgentHostOptions, StepHost, StepOutcome } from './agent-host.js';
export { AgentHost, taggedTarget } from './agent-host.js';
export type {
  ActivationInfo,
  ActivationModelRequest,
  ActivationTools,
  ApprovalDecision,
  ApprovalRejectedEvent,
  ApprovalRequest,
  BoardEvent,
  ChildRunResult,
  CommittedEvent,
  RejectedEvent,
  RuntimeEvent,
} from './board-event.js';
export { containedMachine, handled } from './contained-machine.js';
export type {
  AgentConfig,
  AgentDefinition,
  Budget,
  PoolConfig,
  RetryPolicy,
  SharedWrite,
} from './define-agent.js';
export {
  defineAgent,
  describeSharedWrite,
  findSharedWrites,
  forbiddenCommit,
  forbiddenWrite,
  statusPool,
} from './define-agent.js';
export type { ItemMachineOptions } from './item-machine.js';
export { itemMachine } from './item-machine.js';
export type { MoveSchemas } from './legal-moves.js';
export { legalMoves, toMove } from './legal-moves.js';
export type { StatusPoolOptions } from './status-pool.js';
export type { StepMachineOptions } from './step-machine.js';
export { stepMachine } from './step-machine.js';
