import type { z } from 'zod';
import { brandClass } from '../blackboard/brand.js';

/** One message of a conversation (our own shape: no SDK type leaks past src/llm/openai-transport.ts). */
export type ChatMessage =
  | { readonly role: 'system' | 'user'; readonly content: string }
  | { readonly role: 'assistant'; readonly content: string | null; readonly toolCalls?: readonly ToolCall[] }
  | { readonly role: 'tool'; readonly toolCallId: string; readonly content: string };

/** A tool call the model asked for. */
export interface ToolCall {
  readonly id: string;
  readonly name: string;
  /** The raw JSON arguments, as the model wrote them. */
  readonly arguments: string;
}

/** A tool the model may call; its arguments are validated before it runs. */
export interface ToolDefinition<TArgs = unknown, TResult = unknown> {
  readonly name: string;
  readonly description: string;
  readonly parameters: z.ZodType<TArgs>;
  /** Irreversible tools need a human's approval before they run (the runtime's checkpoints). */
  readonly irreversible?: boolean;
  /**
   * Runs the call with its validated arguments. A method (not a function property), so a tool typed by its
   * arguments (`ToolDefinition<{ to: string }>`) goes wherever a list of tools is taken.
   */
  run?(args: TArgs, context: { signal: AbortSignal }): Promise<TResult> | TResult;
}

/**
 * Tokens and money spent: by one model call, one agent, one run. The one tally type of the library (a
 * `Budget` is a limit, not a tally). A charge an agent reports (`tools.charge`) may give only some fields.
 */
export interface Usage {
  /** Input plus output tokens. */
  readonly tokens: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Money, priced with the client's price table (0 for a model without a price). */
  readonly cost: number;
  /** True when a server reported no usage and tokens were counted locally (about 4 characters a token). */
  readonly estimated?: boolean;
}

/** A tally being added to (internal): a `Usage` whose fields can be updated in place. */
export type Tally = { -readonly [K in 'tokens' | 'inputTokens' | 'outputTokens' | 'cost']: number };

/** Prices in money units per million tokens. */
export interface Price {
  readonly input: number;
  readonly output: number;
}

/** What the transport is asked to do: one request to one model. */
export interface TransportRequest {
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  readonly jsonSchema?: { readonly name: string; readonly schema: Record<string, unknown> };
  readonly tools?: readonly {
    readonly name: string;
    readonly description: string;
    readonly parameters: Record<string, unknown>;
  }[];
  readonly temperature?: number;
  readonly seed?: number;
  readonly maxOutputTokens?: number;
  /** When given, the answer is streamed and each text delta is handed over as it arrives. */
  readonly onDelta?: (text: string) => void;
}

/** What came back. */
export interface TransportResponse {
  readonly text: string;
  readonly toolCalls: readonly ToolCall[];
  readonly usage?: { readonly inputTokens: number; readonly outputTokens: number };
  readonly finishReason: string;
}

/** How errors from a transport are classified, for retries and fallbacks. */
export type TransportFailure =
  | { readonly kind: 'rate_limited'; readonly retryAfterMs?: number; readonly message: string }
  | { readonly kind: 'server'; readonly status: number; readonly message: string }
  | { readonly kind: 'timeout'; readonly message: string }
  | { readonly kind: 'aborted'; readonly message: string }
  | { readonly kind: 'connection'; readonly message: string }
  | { readonly kind: 'client'; readonly status: number; readonly message: string };

/**
 * Thrown by a {@link Transport}'s `send`; its `failure` says what went wrong, which decides whether the
 * model client retries (rate limits, server errors, timeouts, connection errors) or gives up (other 4xx).
 * Throw it from a transport of your own.
 *
 * @example
 * import { TransportError, type Transport } from 'hearsay';
 *
 * const busy: Transport = {
 *   name: 'busy',
 *   send: async () => {
 *     throw new TransportError({ kind: 'rate_limited', retryAfterMs: 1000, message: 'try again in 1s' });
 *   },
 * };
 */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly failure: TransportFailure,
    options?: { cause?: unknown },
  ) {
    super(failure.message, options);
  }
}
brandClass(TransportError, 'TransportError');

/** The wire to a model: an OpenAI-compatible server, or the simulated model. */
export interface Transport {
  readonly name: string;
  send(
    request: TransportRequest,
    options: { signal: AbortSignal; timeoutMs: number },
  ): Promise<TransportResponse>;
}
