/**
 * A signal that aborts when `parent` does, for one piece of work: `release()` removes the listener it put
 * on `parent`. Hand it to code that adds abort listeners and never removes them (the openai SDK does, once
 * per request), so those listeners die with the scoped signal instead of piling up on a long-lived one.
 */
export function scopedSignal(parent: AbortSignal): { readonly signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  if (parent.aborted) {
    controller.abort(parent.reason);
    return { signal: controller.signal, release: () => {} };
  }
  const onAbort = () => controller.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  return { signal: controller.signal, release: () => parent.removeEventListener('abort', onAbort) };
}
