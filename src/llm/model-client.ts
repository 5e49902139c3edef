import { z } from 'zod';
import { type Clock, systemClock } from '../blackboard/clock.js';
import { type CachedAnswer, MemoryModelCache, type ModelCache, stableHash } from './cache.js';
import { DEFAULT_TIER, unknownTier } from './tiers.js';
import type {
  ChatMessage,
  Price,
  ToolCall,
  ToolDefinition,
  Transport,
  TransportFailure,
  Usage,
} from './types.js';
import { TransportError } from './types.js';

/** A tier's models: the preferred one first, then its fallbacks; `cheaper` is used near a budget's end. */
export interface TierConfig {
  readonly models: readonly string[];
  readonly cheaper?: string;
}

/** Something that happened during a call that a log or a trace should show. */
export type ModelEvent =
  | {
      readonly type: 'retry';
      readonly model: string;
      readonly attempt: number;
      readonly waitMs: number;
      readonly failure: TransportFailure;
    }
  | {
      readonly type: 'fallback';
      readonly from: string;
      readonly to: string;
      readonly failure: TransportFailure;
    }
  | { readonly type: 'degraded'; readonly from: string; readonly to: string; readonly reason: string }
  | {
      readonly type: 'invalid_output';
      readonly model: string;
      readonly attempt: number;
      readonly issues: string;
    }
  | { readonly type: 'cache_hit'; readonly model: string; readonly key: string }
  | { readonly type: 'refused'; readonly reason: string };

/** Configuration of {@link createModelClient}. */
export interface ModelClientConfig {
  readonly transport: Transport;
  /**
   * Tier name → models. Agents ask for a tier (`small` for routing, `large` for generation); a request
   * that names none asks for `large`, so configure `large` unless every call names its tier.
   */
  readonly tiers: Readonly<Record<string, TierConfig>>;
  /** Model name → price per million tokens; a model without a price costs 0. */
  readonly prices?: Readonly<Record<string, Price>>;
  /** Attempts per model before falling back to the next (default 3); backoff doubles from `baseDelayMs`. */
  readonly retry?: {
    readonly attempts?: number;
    readonly baseDelayMs?: number;
    readonly maxDelayMs?: number;
  };
  /** Per-call timeout (default 60 s). */
  readonly timeoutMs?: number;
  /** Deterministic calls' answers (a 1,000-entry memory LRU by default; `false` turns caching off). */
  readonly cache?: ModelCache | false;
  /** Time for retries and latency (`systemClock` by default; a `VirtualClock` in tests). */
  readonly clock?: Pick<Clock, 'now' | 'sleep'>;
  /** Jitter source (Math.random by default). */
  readonly random?: () => number;
}

/** What the budget lets a call spend; the runtime binds it to an agent's and a run's budgets. */
export interface BudgetGate {
  /** Tokens left (undefined: no token limit). */
  readonly tokensLeft?: number;
  /** The share of the budget spent, 0..1 (undefined: no limit). */
  readonly spentShare?: number;
  /** Switch to the tier's cheaper model once `spentShare` reaches this (default 0.8). */
  readonly degradeAt?: number;
}

/** One call. */
export interface ModelRequest<TOutput = string> {
  /**
   * A tier from the configuration's `tiers` (default `'large'` when the request names none; inside an
   * activation, the agent's `model.tier` first). A tier the configuration lacks fails the call with
   * `unknown_tier`, naming the configured ones. `model` overrides it with one explicit model.
   */
  readonly tier?: string;
  readonly model?: string;
  readonly messages: readonly ChatMessage[];
  /** Structured output: the answer must parse as JSON and validate against this schema. */
  readonly schema?: z.ZodType<TOutput>;
  readonly tools?: readonly ToolDefinition[];
  readonly temperature?: number;
  readonly seed?: number;
  readonly maxOutputTokens?: number;
  /** Re-asks after invalid output, with the validation error fed back (default 2). */
  readonly repairAttempts?: number;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  /** Text deltas as they arrive (the call is streamed). */
  readonly onDelta?: (text: string) => void;
  /** Extra cache key material, such as the versions of the board paths the activation read. */
  readonly cacheKey?: unknown;
  readonly budget?: BudgetGate;
  readonly onEvent?: (event: ModelEvent) => void;
}

/** A validated tool call. */
export interface ValidatedToolCall {
  readonly id: string;
  readonly name: string;
  readonly args: unknown;
  readonly irreversible: boolean;
}

/** A successful call. */
export interface ModelSuccess<TOutput> {
  readonly ok: true;
  /** The validated structured value, or the text when no schema was given. */
  readonly value: TOutput;
  readonly text: string;
  readonly toolCalls: readonly ValidatedToolCall[];
  readonly model: string;
  /** Tokens and their cost (priced with the client's price table). */
  readonly usage: Usage;
  readonly latencyMs: number;
  readonly cached: boolean;
  /** Requests sent (retries, repairs and fallbacks included). */
  readonly requests: number;
}

/** Why a call failed; returned, never thrown. */
export type ModelError =
  | {
      readonly code: 'invalid_output';
      readonly message: string;
      readonly raw: string;
      readonly issues: readonly z.core.$ZodIssue[] | string;
    }
  | {
      readonly code: 'budget_refused';
      readonly message: string;
      readonly estimatedTokens: number;
      readonly tokensLeft: number;
    }
  | {
      readonly code: 'exhausted';
      readonly message: string;
      readonly failures: readonly { model: string; failure: TransportFailure }[];
    }
  | { readonly code: 'client_error'; readonly message: string; readonly status: number }
  | { readonly code: 'aborted'; readonly message: string }
  | {
      readonly code: 'unknown_tier';
      readonly message: string;
      /** The tier asked for (`'large'` when the request named none). */
      readonly tier: string;
      /** The tiers the client's configuration has. */
      readonly configured: readonly string[];
    };

/** The outcome of a call. */
export type ModelResult<TOutput> =
  | ModelSuccess<TOutput>
  | {
      readonly ok: false;
      readonly error: ModelError;
      /** Tokens spent on the failed attempts, priced at the last model tried. */
      readonly usage: Usage;
      /** The last model a request went to, if any did. */
      readonly model?: string;
      readonly latencyMs?: number;
    };

/** Calls models: structured, retried, with fallbacks, cached, budgeted. */
export interface ModelClient {
  complete<TOutput = string>(request: ModelRequest<TOutput>): Promise<ModelResult<TOutput>>;
  /** The cost of usage on a model, from the price table. */
  costOf(model: string, usage: { inputTokens: number; outputTokens: number }): number;
}

/** Tokens in a text, counted when a server reports none: about four characters a token. */
export const countTokens = (text: string): number => Math.ceil(text.length / 4);

const messagesText = (messages: readonly ChatMessage[]): string =>
  messages.map((m) => m.content ?? '').join('\n');

/**
 * The tokens a call may take at most, as the budget gate counts them before sending: the messages, counted,
 * plus the output allowed.
 */
export const estimateTokens = (request: {
  readonly messages: readonly ChatMessage[];
  readonly maxOutputTokens?: number | undefined;
}): number => countTokens(messagesText(request.messages)) + (request.maxOutputTokens ?? 0);

/**
 * Creates a model client over a transport (`openAITransport(...)` for any OpenAI-compatible server,
 * `simulatedTransport()` offline).
 *
 * @example
 * const llm = createModelClient({ transport: openAITransport({ apiKey }), tiers: { small: { models: ['gpt-4o-mini'] } } });
 * const r = await llm.complete({ tier: 'small', messages: [{ role: 'user', content: 'Classify: …' }], schema: Verdict });
 * if (r.ok) console.log(r.value, r.usage.cost);
 */
export function createModelClient(config: ModelClientConfig): ModelClient {
  const clock = config.clock ?? systemClock;
  const random = config.random ?? Math.random;
  const cache = config.cache === false ? undefined : (config.cache ?? new MemoryModelCache());
  const attemptsPerModel = config.retry?.attempts ?? 3;
  const baseDelay = config.retry?.baseDelayMs ?? 250;
  const maxDelay = config.retry?.maxDelayMs ?? 8000;

  const costOf = (model: string, u: { inputTokens: number; outputTokens: number }) => {
    const p = config.prices?.[model];
    return p ? (u.inputTokens * p.input + u.outputTokens * p.output) / 1e6 : 0;
  };

  async function complete<TOutput>(req: ModelRequest<TOutput>): Promise<ModelResult<TOutput>> {
    const emit = (e: ModelEvent) => req.onEvent?.(e);
    const zero: Usage = { tokens: 0, inputTokens: 0, outputTokens: 0, cost: 0, estimated: false };
    const calledAt = clock.now();
    /** The last model a request went to: failures are priced and attributed to it. */
    let lastModel: string | undefined;
    const fail = (error: ModelError, usage = zero) => ({
      ok: false as const,
      error,
      usage: lastModel ? usageOf(lastModel) : usage,
      ...(lastModel ? { model: lastModel } : {}),
      latencyMs: clock.now() - calledAt,
    });
    let chain: string[];
    if (req.model) chain = [req.model];
    else {
      const asked = req.tier ?? DEFAULT_TIER;
      // Own entries only: a tier named "constructor" or "toString" is not configured either.
      const tier = Object.hasOwn(config.tiers, asked) ? config.tiers[asked] : undefined;
      if (!tier) return fail(unknownTier(asked, req.tier === undefined, Object.keys(config.tiers)));
      chain = [...tier.models];
      const b = req.budget;
      if (tier.cheaper && b?.spentShare !== undefined && b.spentShare >= (b.degradeAt ?? 0.8)) {
        emit({
          type: 'degraded',
          from: chain[0]!,
          to: tier.cheaper,
          reason: `${Math.round(b.spentShare * 100)}% of the budget is spent`,
        });
        chain = [tier.cheaper, ...chain.filter((m) => m !== tier.cheaper)];
      }
    }
    const estimated = estimateTokens(req);
    if (req.budget?.tokensLeft !== undefined && estimated > req.budget.tokensLeft) {
      const reason = `The call needs about ${estimated} tokens and the budget has ${req.budget.tokensLeft} left.`;
      emit({ type: 'refused', reason });
      return fail({
        code: 'budget_refused',
        message: reason,
        estimatedTokens: estimated,
        tokensLeft: req.budget.tokensLeft,
      });
    }
    const jsonSchema = req.schema
      ? { name: 'output', schema: z.toJSONSchema(req.schema) as Record<string, unknown> }
      : undefined;
    const wireTools = req.tools?.map((t) => ({
      name: t.name,
      description: t.description,
      parameters: z.toJSONSchema(t.parameters) as Record<string, unknown>,
    }));
    const deterministic = req.temperature === 0 || req.seed !== undefined;
    const key =
      cache && deterministic
        ? stableHash({
            chain,
            messages: req.messages,
            schema: jsonSchema,
            tools: wireTools,
            temperature: req.temperature,
            seed: req.seed,
            extra: req.cacheKey,
          })
        : undefined;
    const started = clock.now();
    if (key) {
      const hit = await cache!.get(key);
      if (hit) {
        emit({ type: 'cache_hit', model: hit.model, key });
        const checked = validate(req, hit.text, hit.toolCalls);
        if (checked.ok)
          return {
            ...checked,
            text: hit.text,
            model: hit.model,
            usage: zero,
            latencyMs: clock.now() - started,
            cached: true,
            requests: 0,
          };
      }
    }
    const signal = req.signal ?? new AbortController().signal;
    let messages = [...req.messages];
    let input = 0;
    let output = 0;
    let estimatedUsage = false;
    let requests = 0;
    const failures: { model: string; failure: TransportFailure }[] = [];
    for (const [m, model] of chain.entries()) {
      let repairs = 0;
      for (let attempt = 1; attempt <= attemptsPerModel; ) {
        if (signal.aborted)
          return fail({ code: 'aborted', message: 'The call was aborted.' }, usageOf(lastModel));
        requests += 1;
        lastModel = model;
        let res: Awaited<ReturnType<Transport['send']>>;
        try {
          res = await config.transport.send(
            {
              model,
              messages,
              ...(jsonSchema ? { jsonSchema } : {}),
              ...(wireTools ? { tools: wireTools } : {}),
              ...(req.temperature === undefined ? {} : { temperature: req.temperature }),
              ...(req.seed === undefined ? {} : { seed: req.seed }),
              ...(req.maxOutputTokens === undefined ? {} : { maxOutputTokens: req.maxOutputTokens }),
              ...(req.onDelta ? { onDelta: req.onDelta } : {}),
            },
            { signal, timeoutMs: req.timeoutMs ?? config.timeoutMs ?? 60_000 },
          );
        } catch (error) {
          if (!(error instanceof TransportError)) throw error;
          const f = error.failure;
          if (f.kind === 'aborted') return fail({ code: 'aborted', message: f.message }, usageOf(lastModel));
          if (f.kind === 'client')
            return fail({ code: 'client_error', message: f.message, status: f.status }, usageOf(lastModel));
          failures.push({ model, failure: f });
          if (attempt < attemptsPerModel) {
            const backoff = Math.min(maxDelay, baseDelay * 2 ** (attempt - 1));
            const waitMs =
              f.kind === 'rate_limited' && f.retryAfterMs !== undefined
                ? f.retryAfterMs
                : backoff / 2 + random() * (backoff / 2);
            emit({ type: 'retry', model, attempt, waitMs, failure: f });
            try {
              await clock.sleep(waitMs, signal);
            } catch {
              return fail({ code: 'aborted', message: 'The call was aborted.' }, usageOf(lastModel));
            }
            attempt += 1;
            continue;
          }
          const next = chain[m + 1];
          if (next) emit({ type: 'fallback', from: model, to: next, failure: f });
          break;
        }
        if (res.usage) {
          input += res.usage.inputTokens;
          output += res.usage.outputTokens;
        } else {
          estimatedUsage = true;
          input += countTokens(messagesText(messages));
          output += countTokens(res.text + res.toolCalls.map((c) => c.arguments).join(''));
        }
        const checked = validate(req, res.text, res.toolCalls);
        if (checked.ok) {
          if (key)
            await cache!.set(key, { text: res.text, toolCalls: res.toolCalls, model } satisfies CachedAnswer);
          return {
            ...checked,
            text: res.text,
            model,
            usage: usageOf(model),
            latencyMs: clock.now() - started,
            cached: false,
            requests,
          };
        }
        emit({ type: 'invalid_output', model, attempt: repairs + 1, issues: checked.message });
        if (repairs >= (req.repairAttempts ?? 2)) {
          return {
            ok: false,
            error: {
              code: 'invalid_output',
              message: checked.message,
              raw: res.text,
              issues: checked.issues,
            },
            usage: usageOf(model),
            model,
            latencyMs: clock.now() - calledAt,
          };
        }
        repairs += 1;
        // Feed the problem back, so the next answer can fix it.
        messages = [
          ...messages,
          {
            role: 'assistant',
            content: res.text || null,
            ...(res.toolCalls.length > 0 ? { toolCalls: res.toolCalls } : {}),
          },
          ...res.toolCalls.map((c) => ({
            role: 'tool' as const,
            toolCallId: c.id,
            content: `Not run: ${checked.message}`,
          })),
          {
            role: 'user',
            content: `Your answer was not valid: ${checked.message}. Answer again, following the schema exactly.`,
          },
        ];
      }
    }
    return fail(
      {
        code: 'exhausted',
        message: `Every model failed: ${failures.map((f) => `${f.model}: ${f.failure.message}`).join('; ')}`,
        failures,
      },
      usageOf(lastModel),
    );

    /** What the call has spent so far, priced at `model` (the last one tried). */
    function usageOf(model: string | undefined): Usage {
      const counted = { inputTokens: input, outputTokens: output };
      return {
        tokens: input + output,
        ...counted,
        cost: model === undefined ? 0 : costOf(model, counted),
        estimated: estimatedUsage,
      };
    }
  }

  return { complete, costOf };
}

type Checked<TOutput> =
  | { ok: true; value: TOutput; toolCalls: ValidatedToolCall[] }
  | { ok: false; message: string; issues: readonly z.core.$ZodIssue[] | string };

/** Parses and validates an answer: the structured value, and each tool call's arguments. */
function validate<TOutput>(
  req: ModelRequest<TOutput>,
  text: string,
  calls: readonly ToolCall[],
): Checked<TOutput> {
  const toolCalls: ValidatedToolCall[] = [];
  for (const call of calls) {
    const tool = req.tools?.find((t) => t.name === call.name);
    if (!tool)
      return { ok: false, message: `there is no tool "${call.name}"`, issues: `unknown tool ${call.name}` };
    let args: unknown;
    try {
      args = JSON.parse(call.arguments || '{}');
    } catch (e) {
      return {
        ok: false,
        message: `the arguments of ${call.name} are not JSON (${(e as Error).message})`,
        issues: 'malformed JSON',
      };
    }
    const parsed = tool.parameters.safeParse(args);
    if (!parsed.success)
      return {
        ok: false,
        message: `the arguments of ${call.name} are invalid: ${z.prettifyError(parsed.error)}`,
        issues: parsed.error.issues,
      };
    toolCalls.push({
      id: call.id,
      name: call.name,
      args: parsed.data,
      irreversible: tool.irreversible === true,
    });
  }
  if (!req.schema || calls.length > 0) return { ok: true, value: text as TOutput, toolCalls };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return {
      ok: false,
      message: `the answer is not JSON (${(e as Error).message})`,
      issues: 'malformed JSON',
    };
  }
  const parsed = req.schema.safeParse(json);
  if (!parsed.success)
    return {
      ok: false,
      message: `the answer does not match the schema: ${z.prettifyError(parsed.error)}`,
      issues: parsed.error.issues,
    };
  return { ok: true, value: parsed.data, toolCalls };
}
