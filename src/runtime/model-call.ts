import type { ActivationModelRequest } from '../actors/index.js';
import { getIn } from '../blackboard/index.js';
import {
  type BudgetGate,
  estimateTokens,
  type ModelClient,
  type ModelResult,
  runToolCalls,
  stableHash,
  type ValidatedToolCall,
} from '../llm/index.js';
import { type ModelCallContext, TOPICS, type ToolRunner } from '../scheduler/index.js';

/**
 * The gate a model call passes: the tokens left of the agent's and the run's budgets (neither spent nor
 * held by calls and child runs in flight), and the largest spent share of either (for degrading).
 */
function budgetGate(ctx: ModelCallContext): BudgetGate {
  const tokensLeft = ctx.left()?.tokens;
  let spentShare: number | undefined;
  for (const [budget, spent] of [
    [ctx.agentBudget, ctx.agentSpent],
    [ctx.runBudget, ctx.runSpent],
  ] as const) {
    if (budget?.tokens !== undefined) spentShare = Math.max(spentShare ?? 0, spent.tokens / budget.tokens);
    if (budget?.cost !== undefined && budget.cost > 0)
      spentShare = Math.max(spentShare ?? 0, spent.cost / budget.cost);
  }
  return {
    ...(tokensLeft === undefined ? {} : { tokensLeft }),
    ...(spentShare === undefined ? {} : { spentShare }),
  };
}

/**
 * A model call on behalf of an activation: the agent's tier, the activation's signal, the budget gate,
 * usage charged to the agent and the run, and every notable event (retry, fallback, degradation,
 * refusal, cache hit) and streamed delta recorded on the run's log.
 */
export async function callModel<TOutput>(
  client: ModelClient,
  ctx: ModelCallContext,
  request: ActivationModelRequest<TOutput>,
): Promise<ModelResult<TOutput>> {
  const reads = request.cacheByReads
    ? stableHash(ctx.watches.map((p) => [p, getIn(ctx.board, p) ?? null]))
    : undefined;
  const startedAt = ctx.now();
  // The gate counts what other calls in flight hold; this call then holds its own estimate until it is
  // charged, so parallel calls cannot each spend the same tokens left (a run's budget is a hard limit).
  const gate = budgetGate(ctx);
  const release = ctx.hold(estimateTokens(request));
  try {
    return await charged(client, ctx, request, gate, startedAt, reads);
  } finally {
    release();
  }
}

/** The call itself, recorded and charged. */
async function charged<TOutput>(
  client: ModelClient,
  ctx: ModelCallContext,
  request: ActivationModelRequest<TOutput>,
  gate: BudgetGate,
  startedAt: number,
  reads: string | undefined,
): Promise<ModelResult<TOutput>> {
  const { stream, cacheByReads: _, ...rest } = request;
  const result = await client.complete<TOutput>({
    ...rest,
    tier: request.tier ?? ctx.tier,
    signal: ctx.signal,
    budget: { ...gate, degradeAt: ctx.degradeAt },
    ...(reads === undefined ? {} : { cacheKey: { extra: request.cacheKey ?? null, reads } }),
    onEvent: (event) =>
      ctx.record(TOPICS.model, { agentId: ctx.agentId, activationId: ctx.activationId, ...event }),
    ...(stream
      ? {
          onDelta: (text: string) =>
            ctx.record(`${TOPICS.stream}${ctx.activationId}`, {
              activationId: ctx.activationId,
              agentId: ctx.agentId,
              text,
            }),
        }
      : {}),
  });
  ctx.note?.({
    activationId: ctx.activationId,
    input: rest.messages.map((m) => m.content ?? '').join('\n'),
    output: result.ok ? result.text : '',
  });
  // The call is recorded before it is charged: a charge that spends the budget ends the run, and the call
  // that did it must still be on the log (and in the run's cost).
  ctx.record(TOPICS.model, {
    type: 'call',
    agentId: ctx.agentId,
    activationId: ctx.activationId,
    ok: result.ok,
    startedAt,
    // What was asked (a digest of the messages) and what came back: a recorded run replays offline from
    // its log (`hearsay eval --from-log`).
    requestHash: stableHash(rest.messages),
    ...(result.ok
      ? {
          model: result.model,
          cached: result.cached,
          latencyMs: result.latencyMs,
          requests: result.requests,
          text: result.text,
          ...(result.toolCalls.length > 0
            ? {
                toolCalls: result.toolCalls.map((c) => ({
                  id: c.id,
                  name: c.name,
                  arguments: JSON.stringify(c.args),
                })),
              }
            : {}),
        }
      : {
          error: result.error.code,
          message: result.error.message,
          ...(result.model === undefined ? {} : { model: result.model }),
          ...(result.latencyMs === undefined ? {} : { latencyMs: result.latencyMs }),
        }),
    usage: result.usage,
    cost: result.usage.cost,
  });
  // Refused before it was sent: the scheduler opens the breaker (or ends the run), nothing retries it.
  if (!result.ok && result.error.code === 'budget_refused')
    ctx.refusedForBudget?.(result.error.estimatedTokens);
  const { inputTokens, outputTokens } = result.usage;
  if (inputTokens + outputTokens > 0 || result.usage.cost > 0)
    ctx.charge({ inputTokens, outputTokens, cost: result.usage.cost });
  return result;
}

/** Runs an activation's tool calls with the model layer's `runToolCalls`, recording each on the log. */
export const runTools: ToolRunner = (ctx, calls, tools, options = {}) => {
  let startedAt = ctx.now();
  return runToolCalls(calls, tools, {
    signal: ctx.signal,
    runId: ctx.runId,
    ...(options.approvals ? { approvals: options.approvals } : {}),
    ...(options.missing === 'refuse'
      ? {}
      : {
          requestApproval: (call: ValidatedToolCall) =>
            ctx.requestApproval({ action: call.name, args: call.args }),
        }),
    onRun: (run, latencyMs) => {
      ctx.record(TOPICS.tool, {
        startedAt,
        agentId: ctx.agentId,
        activationId: ctx.activationId,
        callId: run.id,
        name: run.name,
        ok: run.ok,
        ...(run.ok ? {} : { code: run.code, message: run.message }),
        latencyMs,
      });
      // The next call starts when this one ended, on the run's clock.
      startedAt = ctx.now();
    },
  });
};
