import { systemClock } from '../blackboard/clock.js';
import type { Transport, TransportRequest, TransportResponse } from './types.js';
import { TransportError } from './types.js';

/**
 * A value that satisfies a JSON schema (zod's output): the first enum value, empty strings are filled
 * with `hint` and the property's name. What the simulated model answers; use it to build a fixture that
 * fits a schema.
 *
 * @example
 * import { exampleOf } from 'hearsay/testing';
 *
 * exampleOf({
 *   type: 'object',
 *   properties: { verdict: { enum: ['approve', 'reject'] }, note: { type: 'string' } },
 *   required: ['verdict', 'note'],
 * }); // { verdict: 'approve', note: 'simulated note' }
 */
export function exampleOf(schema: Record<string, unknown> | undefined, hint = 'simulated'): unknown {
  if (!schema) return hint;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if ('const' in schema) return schema.const;
  const anyOf = (schema.anyOf ?? schema.oneOf) as Record<string, unknown>[] | undefined;
  if (anyOf?.[0]) return exampleOf(anyOf[0], hint);
  switch (schema.type) {
    case 'object': {
      const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
      const required = new Set((schema.required ?? Object.keys(props)) as string[]);
      return Object.fromEntries(
        Object.entries(props)
          .filter(([k]) => required.has(k))
          .map(([k, v]) => [k, exampleOf(v, `${hint} ${k}`)]),
      );
    }
    case 'array':
      return typeof schema.minItems === 'number' && schema.minItems > 0
        ? [exampleOf(schema.items as Record<string, unknown>, hint)]
        : [];
    case 'string':
      return hint;
    case 'number':
    case 'integer':
      return typeof schema.minimum === 'number' ? schema.minimum : 0;
    case 'boolean':
      return false;
    case 'null':
      return null;
    default:
      return hint;
  }
}

/** Options of {@link simulatedTransport}. */
export interface SimulatedOptions {
  /** Answers for requests; the default echoes the last user message, or a schema's example value. */
  readonly respond?: (request: TransportRequest) => Partial<TransportResponse> | undefined;
  /** Simulated latency. */
  readonly latencyMs?: number;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/**
 * An offline model, for demos and tests without an API key: deterministic answers that honour the
 * requested JSON schema (an example value) and tools (it calls the first tool once, with example
 * arguments), with usage counted locally. Its model names are shown with a `simulated/` prefix.
 * `respond` answers the requests a test cares about; it returns undefined for the default answer.
 *
 * @example
 * import { createModelClient } from 'hearsay';
 * import { simulatedTransport } from 'hearsay/testing';
 *
 * const models = createModelClient({
 *   transport: simulatedTransport({
 *     respond: (req) => (req.messages.some((m) => m.content?.includes('refund')) ? { text: '{"verdict":"reject"}' } : undefined),
 *   }),
 *   tiers: { small: { models: ['sim'] }, large: { models: ['sim'] } },
 * });
 */
export function simulatedTransport(options: SimulatedOptions = {}): Transport {
  // The wall clock's sleep lets go of the signal when it ends: simulated calls pile no listeners on it.
  const sleep = options.sleep ?? ((ms: number, signal: AbortSignal) => systemClock.sleep(ms, signal));
  return {
    name: 'simulated',
    async send(req, { signal }) {
      if (options.latencyMs) {
        try {
          await sleep(options.latencyMs, signal);
        } catch {
          throw new TransportError({ kind: 'aborted', message: 'The call was aborted.' });
        }
      }
      const custom = options.respond?.(req);
      const last = [...req.messages].reverse().find((m) => m.role === 'user');
      const answeredTool = req.messages.some((m) => m.role === 'tool');
      const tool = !answeredTool ? req.tools?.[0] : undefined;
      const text =
        custom?.text ??
        (tool
          ? ''
          : req.jsonSchema
            ? JSON.stringify(exampleOf(req.jsonSchema.schema))
            : `[simulated ${req.model}] ${(last?.content ?? '').slice(0, 200)}`);
      const toolCalls =
        custom?.toolCalls ??
        (tool
          ? [{ id: 'sim_call_0', name: tool.name, arguments: JSON.stringify(exampleOf(tool.parameters)) }]
          : []);
      for (const piece of text.match(/.{1,16}/gs) ?? []) req.onDelta?.(piece);
      return {
        text,
        toolCalls,
        finishReason: toolCalls.length > 0 ? 'tool_calls' : 'stop',
        ...(custom?.usage ? { usage: custom.usage } : {}),
      };
    },
  };
}
