export type { ApprovalRefusal, ApprovalRefusalCode } from './approval.js';
export type { CachedAnswer, ModelCache } from './cache.js';
export { MemoryModelCache, stableHash, stableStringify } from './cache.js';
export type { EnvModels } from './from-env.js';
export { KNOWN_PRICES, modelsFromEnv } from './from-env.js';
export type {
  BudgetGate,
  ModelClient,
  ModelClientConfig,
  ModelError,
  ModelEvent,
  ModelRequest,
  ModelResult,
  ModelSuccess,
  TierConfig,
  ValidatedToolCall,
} from './model-client.js';
export { countTokens, createModelClient, estimateTokens } from './model-client.js';
export type { OpenAITransportOptions } from './openai-transport.js';
export { openAITransport, retryAfterMs } from './openai-transport.js';
export type { ToolApprovalOptions, ToolRun } from './run-tools.js';
export { runToolCalls } from './run-tools.js';
export type { SimulatedOptions } from './simulated.js';
export { exampleOf, simulatedTransport } from './simulated.js';
export type {
  ChatMessage,
  Price,
  Tally,
  ToolCall,
  ToolDefinition,
  Transport,
  TransportFailure,
  TransportRequest,
  TransportResponse,
  Usage,
} from './types.js';
export { TransportError } from './types.js';
export type { Provenance, Untrusted } from './untrusted.js';
export { asData, untrusted, untrustedSchema } from './untrusted.js';
