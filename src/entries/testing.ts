/**
 * `hearsay/testing`: what makes a team's tests fast and repeatable. A `VirtualClock` (time moves only when
 * everything else waits; `createRuntime({ deterministic })` drives it) and a simulated OpenAI-compatible
 * transport that answers from the request's schema, offline.
 */

export type { SimulatedOptions } from '../llm/simulated.js';
export { exampleOf, simulatedTransport } from '../llm/simulated.js';
export { VirtualClock } from '../scheduler/clock.js';
