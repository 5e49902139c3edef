export { Instruments } from './instruments.js';
export type { CostBreakdown, ObservabilityOptions } from './run-tracer.js';
export { RunTracer, resolveObservability } from './run-tracer.js';
export { formatTraceparent, parseTraceparent } from './trace-context.js';
