import { type ApprovalRefusalCode, consumeApproval } from './approval.js';
import type { ValidatedToolCall } from './model-client.js';
import type { ToolDefinition } from './types.js';

/** What running one tool call came to. */
export type ToolRun =
  | { readonly id: string; readonly name: string; readonly ok: true; readonly result: unknown }
  | {
      readonly id: string;
      readonly name: string;
      readonly ok: false;
      readonly code: ApprovalRefusalCode | 'no_runner' | 'failed';
      readonly message: string;
    };

/**
 * How `runToolCalls` is to treat irreversible tools.
 *
 * @example
 * const approval = await tools.requestApproval({ action: call.name, args: call.args });
 * await runToolCalls([call], myTools, { signal, approvals: [approval] });
 */
export interface ToolApprovalOptions {
  /**
   * Approvals returned by `tools.requestApproval`. An irreversible call runs only after consuming one that
   * was issued for exactly its action and canonical arguments (recorded as used on the run's log first);
   * each covers one run. A decision built by hand, copied, or read back from a log approves nothing.
   */
  readonly approvals?: readonly object[];
  /**
   * Asks for an approval when a call has no unused one among `approvals` (the activation's `runTools`
   * passes `tools.requestApproval`): the call waits for the answer. Without it, such a call comes back
   * `approval_required` at once.
   */
  readonly requestApproval?: (call: ValidatedToolCall) => Promise<object>;
  /** Accept only approvals issued in this run (the activation's `runTools` sets it). */
  readonly runId?: string;
}

/**
 * Runs validated tool calls (from a model result) with their tools' `run`. An irreversible tool runs only
 * by consuming an approval issued for exactly that call (see `approvals`): otherwise it comes back
 * `approval_required`, `approval_used` or `approval_rejected`. A tool that throws comes back as `failed`;
 * nothing is thrown. Inside an activation, prefer `tools.runTools`, which asks for the approvals itself.
 *
 * @example
 * const approval = await tools.requestApproval({ action: call.name, args: call.args });
 * const runs = await runToolCalls([call], myTools, { signal, approvals: [approval] });
 */
export async function runToolCalls(
  calls: readonly ValidatedToolCall[],
  tools: readonly ToolDefinition[],
  options: ToolApprovalOptions & {
    signal: AbortSignal;
    /** Called after each call with what it came to and how long it took (tracing hooks in here). */
    onRun?: (run: ToolRun, latencyMs: number) => void;
  },
): Promise<ToolRun[]> {
  const runs: ToolRun[] = [];
  for (const call of calls) {
    const started = performance.now();
    const tool = tools.find((t) => t.name === call.name);
    const base = { id: call.id, name: call.name };
    let run: ToolRun;
    if (!tool?.run) {
      run = { ...base, ok: false, code: 'no_runner', message: `Tool "${call.name}" has no run function.` };
    } else {
      // The tool's own declaration decides, not the call's `irreversible` flag (a call can be built by hand).
      const refused = tool.irreversible ? await approve(call, options) : undefined;
      if (refused) run = { ...base, ...refused };
      else {
        try {
          run = { ...base, ok: true, result: await tool.run(call.args as never, { signal: options.signal }) };
        } catch (error) {
          run = {
            ...base,
            ok: false,
            code: 'failed',
            message: error instanceof Error ? error.message : String(error),
          };
        }
      }
    }
    runs.push(run);
    options.onRun?.(run, performance.now() - started);
  }
  return runs;
}

/** Consumes an approval for an irreversible call (asking for one if allowed); undefined when it may run. */
async function approve(
  call: ValidatedToolCall,
  options: ToolApprovalOptions & { signal: AbortSignal },
): Promise<{ ok: false; code: ApprovalRefusalCode | 'failed'; message: string } | undefined> {
  const scope = options.runId === undefined ? {} : { runId: options.runId };
  let r = await consumeApproval(options.approvals ?? [], call, scope);
  if (r.ok) return undefined;
  if (r.code !== 'approval_rejected' && options.requestApproval) {
    if (options.signal.aborted) return { ok: false, code: 'failed', message: 'The activation was aborted.' };
    let approval: object;
    try {
      approval = await options.requestApproval(call);
    } catch (error) {
      return { ok: false, code: 'failed', message: error instanceof Error ? error.message : String(error) };
    }
    r = await consumeApproval([approval], call, scope);
    if (r.ok) return undefined;
  }
  return { ok: false, code: r.code, message: r.message };
}
