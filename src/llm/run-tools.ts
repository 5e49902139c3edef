import type { ValidatedToolCall } from './model-client.js';
import type { ToolDefinition } from './types.js';

/** What running one tool call came to. */
export type ToolRun =
  | { readonly id: string; readonly name: string; readonly ok: true; readonly result: unknown }
  | {
      readonly id: string;
      readonly name: string;
      readonly ok: false;
      readonly code: 'needs_approval' | 'no_runner' | 'failed';
      readonly message: string;
    };

/**
 * Runs validated tool calls (from a model result) with their tools' `run`. Irreversible tools do not run
 * unless `approved` says so for that call: they come back as `needs_approval`, for a human checkpoint.
 * A tool that throws comes back as `failed`; nothing is thrown.
 *
 * @example
 * const runs = await runToolCalls(r.toolCalls, tools, { signal });
 * messages.push(...runs.map((t) => ({ role: 'tool', toolCallId: t.id, content: JSON.stringify(t.ok ? t.result : t.message) })));
 */
export async function runToolCalls(
  calls: readonly ValidatedToolCall[],
  tools: readonly ToolDefinition[],
  options: {
    signal: AbortSignal;
    approved?: (call: ValidatedToolCall) => boolean;
    /** Called after each call with what it came to and how long it took (tracing hooks in here). */
    onRun?: (run: ToolRun, latencyMs: number) => void;
  },
): Promise<ToolRun[]> {
  const runs: ToolRun[] = [];
  for (const call of calls) {
    const started = performance.now();
    const before = runs.length;
    const tool = tools.find((t) => t.name === call.name);
    const base = { id: call.id, name: call.name };
    if (!tool?.run) {
      runs.push({
        ...base,
        ok: false,
        code: 'no_runner',
        message: `Tool "${call.name}" has no run function.`,
      });
    } else if (tool.irreversible && !options.approved?.(call)) {
      runs.push({
        ...base,
        ok: false,
        code: 'needs_approval',
        message: `Tool "${call.name}" is irreversible and needs a human's approval.`,
      });
    } else {
      try {
        runs.push({
          ...base,
          ok: true,
          result: await tool.run(call.args as never, { signal: options.signal }),
        });
      } catch (error) {
        runs.push({
          ...base,
          ok: false,
          code: 'failed',
          message: error instanceof Error ? error.message : String(error),
        });
      }
    }
    if (runs.length > before) options.onRun?.(runs.at(-1)!, performance.now() - started);
  }
  return runs;
}
