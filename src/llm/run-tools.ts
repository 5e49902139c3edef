import { z } from 'zod';
import type { BoardLimitName } from '../blackboard/limits.js';
import { type ApprovalRefusalCode, consumeApproval } from './approval.js';
import { canonicalArgs } from './canonical-args.js';
import type { ValidatedToolCall } from './model-client.js';
import type { ToolDefinition } from './types.js';

/** What running one tool call came to. */
export type ToolRun =
  | { readonly id: string; readonly name: string; readonly ok: true; readonly result: unknown }
  | {
      readonly id: string;
      readonly name: string;
      readonly ok: false;
      readonly code: ApprovalRefusalCode | 'no_runner' | 'invalid_args' | 'failed';
      readonly message: string;
      /** For `invalid_args` over a bound: which (the board's default limits) and its value. */
      readonly limit?: { readonly name: BoardLimitName; readonly max: number };
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
 * Each call's arguments are taken once, when `runToolCalls` is called: one deep-frozen copy of plain JSON
 * data, within the board's default bounds (`DEFAULT_BOARD_LIMITS`: 256 levels of nesting, 8 MiB, keys of
 * 4,096 characters) and valid for the tool's `parameters`. That copy is what an approval is matched
 * against and what the tool's `run` receives: changing the caller's objects afterwards changes nothing.
 * Arguments that are not plain JSON, over a bound (`limit` says which) or invalid for the tool come back
 * `invalid_args`, before any approval is asked for or used.
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
  // Everything the runs depend on is read now, before the first await: each call's id, name and one
  // frozen copy of its arguments, and its tool's `run` (a caller mutating any of them later changes nothing).
  const prepared = calls.map((call) => prepare(call, tools));
  const runs: ToolRun[] = [];
  for (const p of prepared) {
    const started = performance.now();
    let run: ToolRun;
    if (!p.ok) run = p.run;
    else {
      const { call, tool } = p;
      const base = { id: call.id, name: call.name };
      // The tool's own declaration decides, not the call's `irreversible` flag (a call can be built by hand).
      const refused = p.irreversible ? await approve(call, options) : undefined;
      if (refused) run = { ...base, ...refused };
      else {
        try {
          run = {
            ...base,
            ok: true,
            result: await p.run.call(tool, call.args as never, { signal: options.signal }),
          };
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

type Prepared =
  | {
      readonly ok: true;
      readonly call: ValidatedToolCall;
      readonly tool: ToolDefinition;
      readonly run: NonNullable<ToolDefinition['run']>;
      readonly irreversible: boolean;
    }
  | { readonly ok: false; readonly run: ToolRun };

/** One call as it will run: read once, its arguments copied, frozen, bounded and validated. */
function prepare(call: ValidatedToolCall, tools: readonly ToolDefinition[]): Prepared {
  let id = '';
  let name = '';
  const failed = (code: 'no_runner' | 'invalid_args', message: string, extra = {}): Prepared => ({
    ok: false,
    run: { id, name, ok: false, code, message, ...extra },
  });
  try {
    id = String(call.id);
    name = String(call.name);
    const tool = tools.find((t) => t.name === name);
    const run = tool?.run;
    if (!tool || typeof run !== 'function') return failed('no_runner', `Tool "${name}" has no run function.`);
    const checked = canonicalArgs(call.args, `The arguments of "${name}"`);
    if (!checked.ok)
      return failed('invalid_args', checked.message, checked.limit ? { limit: checked.limit } : {});
    const parameters = tool.parameters as z.ZodType | undefined;
    if (parameters && typeof parameters.safeParse === 'function') {
      const parsed = parameters.safeParse(checked.args);
      if (!parsed.success)
        return failed(
          'invalid_args',
          `The arguments of "${name}" do not fit its parameters: ${z.prettifyError(parsed.error)}`,
        );
    }
    const irreversible = tool.irreversible === true;
    return {
      ok: true,
      call: Object.freeze({ id, name, args: checked.args, irreversible }),
      tool,
      run,
      irreversible,
    };
  } catch (error) {
    // A getter on the call or a schema's refinement that throws: the call cannot be checked, so it does not run.
    const why = error instanceof Error ? error.message : String(error);
    return failed('invalid_args', `The call to "${name}" could not be checked: ${why}`);
  }
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
