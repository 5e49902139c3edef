/**
 * Topics of the records a run writes on its own log (messages by author `scheduler`, `runtime`, …): what
 * ran, why, what it cost, what was approved. They are part of the wire protocol: the hub forwards them,
 * and the inspector, tracing, evals and resume read them back. Subscribe to them on a run's board, or
 * filter a log by them.
 *
 * @example
 * import { TOPICS } from 'hearsay';
 *
 * const handle = await runtime.start();
 * handle.board.subscribe({ from: 1, topics: [TOPICS.activation, TOPICS.outcome] }, (event) => {
 *   if (event.type === 'message') console.log(event.topic, event.payload);
 * });
 */
export const TOPICS = {
  activation: 'hearsay.activation',
  agenda: 'hearsay.agenda',
  transition: 'hearsay.transition',
  delegation: 'hearsay.delegation',
  outcome: 'hearsay.outcome',
  warning: 'hearsay.warning',
  breaker: 'hearsay.breaker',
  model: 'hearsay.model',
  /** A singleton's persisted XState snapshot after a completed activation (when the store is durable). */
  actor: 'hearsay.actor',
  /** Each tool call run through `tools.runTools`: name, result, latency. */
  tool: 'hearsay.tool',
  /** Usage charged to an agent (model calls and tools.charge). */
  usage: 'hearsay.usage',
  /** The run's trace (`traceId`, `traceparent` of the run's span), recorded as the run starts or resumes. */
  trace: 'hearsay.trace',
  /** The span of each activation attempt, ended (parent: the activation whose commit enabled it). */
  span: 'hearsay.span',
  /** Approval requests, answers, uses, escalations. */
  approval: 'hearsay.approval',
  /** Streamed model text: one topic per activation, `hearsay.stream/<activationId>` (subscribe to `hearsay.stream/*`). */
  stream: 'hearsay.stream/',
  /** On a parent run: a child run started, was refused, or ended (`childRunId`, `team`, outcome, usage). */
  child: 'hearsay.child',
  /**
   * An activation became tainted other than by a model call or a child run (both on the log already): it
   * read a tainted value, ran tools, ran in another process, or stands in for (or was delegated by) a
   * tainted one. `{ activationId, source }`; a resumed run rebuilds its taint from these.
   */
  taint: 'hearsay.taint',
  /** On a child run, first: the run and activation that started it. */
  parent: 'hearsay.parent',
} as const;
