import type { TransportFailure } from './types.js';

/**
 * What an error an OpenAI-compatible server sends inside a streamed answer (after its `200 OK`) means, as
 * the failure the same error would have been as an HTTP status: servers put the status they would have
 * answered in the error's `code` (vLLM, OpenRouter, llama.cpp: `429`, `503`) or name it in its `type` or
 * `code` (OpenAI: `rate_limit_exceeded`, `server_error`). A rate limit keeps its wait (`retry-after`
 * headers, a `retry_after`/`retry_after_ms` field, or OpenAI's "try again in 1.5s"); an error that says
 * nothing recognisable is a server failure (the server accepted the call, then failed it), never a
 * connection error.
 */
export function streamErrorFailure(
  body: unknown,
  message: string,
  headers?: { get(name: string): string | null },
  retryAfterMs?: (headers: { get(name: string): string | null } | undefined) => number | undefined,
): TransportFailure {
  const error = (isObject(body) && isObject(body.error) ? body.error : body) as Record<string, unknown>;
  const text = `mid-stream error: ${message}`;
  const status = statusOf(error);
  const named = [error?.type, error?.code, error?.status]
    .filter((x): x is string => typeof x === 'string')
    .join(' ')
    .toLowerCase();
  const rateLimited =
    status === 429 || /rate.?limit|too.?many.?requests|resource.?exhausted|quota/.test(named);
  if (rateLimited) {
    const wait = retryAfterMs?.(headers) ?? waitFromBody(error, message);
    return { kind: 'rate_limited', message: text, ...(wait === undefined ? {} : { retryAfterMs: wait }) };
  }
  if (status !== undefined && status >= 400 && status < 500) {
    // A 408 is a timeout to retry, as the SDK treats it; other 4xx are the request's fault.
    if (status === 408) return { kind: 'timeout', message: text };
    return { kind: 'client', status, message: text };
  }
  if (status !== undefined && status >= 500) return { kind: 'server', status, message: text };
  if (/invalid.?request|bad.?request|context.?length|invalid.?argument/.test(named))
    return { kind: 'client', status: 400, message: text };
  if (/overloaded|unavailable/.test(named)) return { kind: 'server', status: 503, message: text };
  if (/timeout|timed.?out/.test(named)) return { kind: 'timeout', message: text };
  return { kind: 'server', status: 500, message: text };
}

/**
 * True for a streamed chunk that is an error body rather than a chunk of the answer: no `choices`, and an
 * `error`, or `object: "error"` (vLLM before it wrapped errors in `error`).
 */
export function isErrorChunk(chunk: unknown): boolean {
  if (!isObject(chunk) || Array.isArray(chunk.choices)) return false;
  return chunk.object === 'error' || (chunk.error !== undefined && chunk.error !== null);
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}

function statusOf(error: Record<string, unknown> | undefined): number | undefined {
  for (const x of [error?.status, error?.code, error?.status_code, error?.http_status]) {
    const n = typeof x === 'number' ? x : typeof x === 'string' && /^\d{3}$/.test(x) ? Number(x) : undefined;
    if (n !== undefined && n >= 400 && n <= 599) return n;
  }
  return undefined;
}

function waitFromBody(error: Record<string, unknown> | undefined, message: string): number | undefined {
  const ms = Number(error?.retry_after_ms);
  if (error?.retry_after_ms !== undefined && Number.isFinite(ms) && ms >= 0) return ms;
  const s = Number(error?.retry_after);
  if (error?.retry_after !== undefined && Number.isFinite(s) && s >= 0) return s * 1000;
  const said = /try again in (\d+(?:\.\d+)?)\s*(ms|s\b|sec|second)/i.exec(message);
  if (!said) return undefined;
  return Number(said[1]) * (said[2]!.toLowerCase() === 'ms' ? 1 : 1000);
}
