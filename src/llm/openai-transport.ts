import OpenAI from 'openai';
import { scopedSignal } from './scoped-signal.js';
import { isErrorChunk, streamErrorFailure } from './stream-errors.js';
import type { ChatMessage, Transport, TransportRequest, TransportResponse } from './types.js';
import { TransportError } from './types.js';

/** Where an OpenAI-compatible server is. */
export interface OpenAITransportOptions {
  readonly apiKey: string;
  /** Any OpenAI-compatible endpoint (llama.cpp, vLLM, Ollama…); OpenAI's own by default. */
  readonly baseURL?: string;
}

type Params = OpenAI.Chat.ChatCompletionCreateParams;

function toWire(m: ChatMessage): OpenAI.Chat.ChatCompletionMessageParam {
  switch (m.role) {
    case 'tool':
      return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
    case 'assistant':
      return {
        role: 'assistant',
        content: m.content,
        ...(m.toolCalls && m.toolCalls.length > 0
          ? {
              tool_calls: m.toolCalls.map((c) => ({
                id: c.id,
                type: 'function' as const,
                function: { name: c.name, arguments: c.arguments },
              })),
            }
          : {}),
      };
    default:
      return { role: m.role, content: m.content };
  }
}

/** Milliseconds to wait from a 429's `retry-after-ms` or `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(
  headers: { get(name: string): string | null } | undefined,
  now = Date.now(),
): number | undefined {
  const ms = headers?.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Number(ms);
  const after = headers?.get('retry-after');
  if (!after) return undefined;
  if (Number.isFinite(Number(after))) return Number(after) * 1000;
  const at = Date.parse(after);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function classify(error: unknown): TransportError {
  if (error instanceof TransportError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof OpenAI.APIUserAbortError)
    return new TransportError({ kind: 'aborted', message }, { cause: error });
  if (error instanceof OpenAI.APIConnectionTimeoutError)
    return new TransportError({ kind: 'timeout', message }, { cause: error });
  if (error instanceof OpenAI.APIConnectionError)
    return new TransportError({ kind: 'connection', message }, { cause: error });
  // The SDK raises an error the server sent inside a stream (after its 200) as an APIError without a status.
  if (error instanceof OpenAI.APIError && error.status === undefined)
    return new TransportError(streamErrorFailure(error.error, message, error.headers, retryAfterMs), {
      cause: error,
    });
  if (error instanceof OpenAI.APIError && error.status !== undefined) {
    if (error.status === 429) {
      const retry = retryAfterMs(error.headers);
      return new TransportError(
        { kind: 'rate_limited', message, ...(retry === undefined ? {} : { retryAfterMs: retry }) },
        { cause: error },
      );
    }
    if (error.status >= 500)
      return new TransportError({ kind: 'server', status: error.status, message }, { cause: error });
    return new TransportError({ kind: 'client', status: error.status, message }, { cause: error });
  }
  return new TransportError({ kind: 'connection', message }, { cause: error });
}

/**
 * The transport to an OpenAI-compatible server through the official `openai` SDK (v6, which supports
 * Node 20). The SDK's own retries are off: the ModelClient retries, with backoff, jitter and fallbacks.
 *
 * @example
 * import { createModelClient, openAITransport } from 'hearsay';
 *
 * const models = createModelClient({
 *   // any OpenAI-compatible server: llama.cpp, vLLM, Ollama (`http://localhost:11434/v1`)…
 *   transport: openAITransport({ apiKey: process.env.OPENAI_API_KEY!, baseURL: 'https://api.openai.com/v1' }),
 *   tiers: { small: { models: ['gpt-4o-mini'] }, large: { models: ['gpt-4o', 'gpt-4o-mini'] } },
 * });
 */
export function openAITransport(options: OpenAITransportOptions): Transport {
  const client = new OpenAI({
    apiKey: options.apiKey,
    ...(options.baseURL ? { baseURL: options.baseURL } : {}),
    maxRetries: 0,
  });
  return {
    name: `openai${options.baseURL ? `@${options.baseURL}` : ''}`,
    async send(req: TransportRequest, options): Promise<TransportResponse> {
      // The SDK leaves an abort listener on the signal it is given: one per request, not per activation.
      const scoped = scopedSignal(options.signal);
      try {
        return await sendOn(req, { ...options, signal: scoped.signal });
      } finally {
        scoped.release();
      }
    },
  };

  async function sendOn(
    req: TransportRequest,
    { signal, timeoutMs }: Parameters<Transport['send']>[1],
  ): Promise<TransportResponse> {
    const params: Params = {
      model: req.model,
      messages: req.messages.map(toWire),
      ...(req.temperature === undefined ? {} : { temperature: req.temperature }),
      ...(req.seed === undefined ? {} : { seed: req.seed }),
      ...(req.maxOutputTokens === undefined ? {} : { max_completion_tokens: req.maxOutputTokens }),
      ...(req.jsonSchema
        ? {
            response_format: {
              type: 'json_schema',
              json_schema: { name: req.jsonSchema.name, schema: req.jsonSchema.schema, strict: false },
            },
          }
        : {}),
      ...(req.tools && req.tools.length > 0
        ? {
            tools: req.tools.map((t) => ({
              type: 'function' as const,
              function: { name: t.name, description: t.description, parameters: t.parameters },
            })),
          }
        : {}),
    };
    try {
      if (!req.onDelta) {
        const res = await client.chat.completions.create(
          { ...params, stream: false },
          { signal, timeout: timeoutMs },
        );
        const choice = res.choices[0];
        return {
          text: choice?.message.content ?? '',
          toolCalls: (choice?.message.tool_calls ?? []).flatMap((c) =>
            c.type === 'function'
              ? [{ id: c.id, name: c.function.name, arguments: c.function.arguments }]
              : [],
          ),
          ...(res.usage
            ? { usage: { inputTokens: res.usage.prompt_tokens, outputTokens: res.usage.completion_tokens } }
            : {}),
          finishReason: choice?.finish_reason ?? 'stop',
        };
      }
      const stream = await client.chat.completions.create(
        { ...params, stream: true, stream_options: { include_usage: true } },
        { signal, timeout: timeoutMs },
      );
      let text = '';
      let finishReason: string | undefined;
      let usage: TransportResponse['usage'];
      const calls = new Map<number, { id: string; name: string; arguments: string }>();
      for await (const chunk of stream) {
        if (signal.aborted) break;
        // An error body the SDK passed on as a chunk (no `error` key for it to recognise).
        if (isErrorChunk(chunk)) {
          const body = chunk as unknown as { message?: unknown };
          throw new TransportError(
            streamErrorFailure(
              chunk,
              typeof body.message === 'string' ? body.message : JSON.stringify(chunk),
            ),
          );
        }
        if (chunk.usage)
          usage = { inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens };
        // Some servers send a usage-only chunk with no `choices` at all.
        const choice = chunk.choices?.[0];
        if (!choice) continue;
        if (choice.delta.content) {
          text += choice.delta.content;
          req.onDelta(choice.delta.content);
        }
        for (const d of choice.delta.tool_calls ?? []) {
          const c = calls.get(d.index) ?? { id: '', name: '', arguments: '' };
          calls.set(d.index, {
            id: d.id ?? c.id,
            name: c.name + (d.function?.name ?? ''),
            arguments: c.arguments + (d.function?.arguments ?? ''),
          });
        }
        if (choice.finish_reason) finishReason = choice.finish_reason;
      }
      // An aborted stream may end quietly: a partial answer must not pass for a whole one.
      if (signal.aborted)
        throw new TransportError({ kind: 'aborted', message: 'The call was aborted mid-stream.' });
      // A stream that ended without saying why the answer ended was cut (a proxy or server that closed it,
      // or an error line the SSE format does not carry): what arrived is not the whole answer.
      if (finishReason === undefined)
        throw new TransportError({
          kind: 'connection',
          message: 'The stream ended before the answer did (no finish_reason): the answer is incomplete.',
        });
      return { text, toolCalls: [...calls.values()], ...(usage ? { usage } : {}), finishReason };
    } catch (error) {
      if (signal.aborted)
        throw new TransportError({ kind: 'aborted', message: 'The call was aborted.' }, { cause: error });
      throw classify(error);
    }
  }
}
