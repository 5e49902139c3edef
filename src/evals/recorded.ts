import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { LogEvent } from '../blackboard/index.js';
import {
  createModelClient,
  type ModelClient,
  stableHash,
  type Transport,
  TransportError,
} from '../llm/index.js';
import { parseRecord } from '../protocol/records.js';
import { TOPICS } from '../protocol/topics.js';
import type { EvalCase, RecordedCall } from './suite.js';

/**
 * A model client that answers from recorded calls: each request gets the first unused recording made for
 * the same messages (their digest, as the log recorded it). A request no recording matches fails with a
 * clear error (the prompt changed since the run was recorded) instead of reaching any network. Tiers
 * `small` and `large` are served; tokens are the recorded ones, cost is zero (nothing is spent).
 * `runSuite` uses it for a case that carries `recorded` answers; call it yourself to re-run one offline.
 *
 * @example
 * import { createRuntime } from 'hearsay';
 * import { loadCases, replayModels } from 'hearsay/evals';
 *
 * const [incident] = await loadCases<{ goal: string }>('evals/cases');
 * const replayed = await createRuntime({ ...team, models: replayModels(incident!.recorded ?? []) }).run(incident!.input);
 */
export function replayModels(recorded: readonly RecordedCall[]): ModelClient {
  const used = new Set<number>();
  const transport: Transport = {
    name: 'replay',
    async send(request) {
      const hash = stableHash(request.messages);
      const i = recorded.findIndex((r, n) => !used.has(n) && r.requestHash === hash);
      if (i < 0) {
        throw new TransportError({
          kind: 'client',
          status: 404,
          message: `No recorded answer for this request (${hash.slice(0, 12)}): the prompt differs from the recorded run.`,
        });
      }
      used.add(i);
      const r = recorded[i]!;
      request.onDelta?.(r.text);
      return { text: r.text, toolCalls: r.toolCalls ?? [], usage: r.usage, finishReason: 'stop' };
    },
  };
  return createModelClient({
    transport,
    tiers: { small: { models: ['replay'] }, large: { models: ['replay'] } },
    retry: { attempts: 1 },
  });
}

/**
 * The recorded model calls of a run's log (successful calls that carry their answer), ready for
 * {@link replayModels}: what each agent asked (a digest), which model answered, what, and what it cost.
 *
 * @example
 * import { FileStore } from 'hearsay';
 * import { recordedCalls } from 'hearsay/evals';
 *
 * const store = new FileStore({ dir: '.hearsay' });
 * const calls = recordedCalls(await store.read('incident-7', 1));
 * console.log(calls.map((c) => `${c.agentId}: ${c.model}, $${c.cost}`));
 */
export function recordedCalls(events: readonly LogEvent[]): RecordedCall[] {
  const out: RecordedCall[] = [];
  for (const e of events) {
    if (e.type !== 'message' || e.topic !== TOPICS.model) continue;
    const parsed = parseRecord(TOPICS.model, e.payload);
    if (!parsed.ok) continue;
    const p = parsed.record;
    if (p.type !== 'call' || !p.ok || p.text === undefined) continue;
    out.push({
      requestHash: p.requestHash,
      agentId: p.agentId,
      model: String(p.model),
      text: p.text,
      ...(p.toolCalls ? { toolCalls: p.toolCalls } : {}),
      usage: { inputTokens: p.usage.inputTokens ?? 0, outputTokens: p.usage.outputTokens ?? 0 },
      cost: p.cost,
    });
  }
  return out;
}

/**
 * Turns a run's log into an eval case that replays it offline: the run's input (its `input` commit), what
 * it ended with (outcome, and the final board when given), and every model answer it received. What
 * `hearsay eval --from-log` does, for a log you read yourself.
 *
 * @example
 * import { FileStore } from 'hearsay';
 * import { caseFromLog, writeCase } from 'hearsay/evals';
 *
 * const store = new FileStore({ dir: '.hearsay' });
 * const incident = caseFromLog(await store.read('incident-7', 1), { id: 'incident-7' });
 * await writeCase('evals/cases', incident); // evals/cases/incident-7.json
 */
export function caseFromLog(
  events: readonly LogEvent[],
  options: {
    id: string;
    finalBoard?: unknown;
    /** More logs whose model answers the case replays (its child runs'). */
    extra?: readonly LogEvent[];
  },
): EvalCase<Record<string, unknown>> {
  const inputCommit = events.find((e) => e.type === 'commit' && e.author === 'input');
  const input: Record<string, unknown> = {};
  if (inputCommit?.type === 'commit') {
    for (const p of inputCommit.patches)
      if (p.path.length === 1 && p.op !== 'remove') input[String(p.path[0])] = p.value;
  }
  const outcome = events.findLast((e) => e.type === 'message' && e.topic === TOPICS.outcome);
  const o = (outcome?.type === 'message' ? outcome.payload : {}) as { outcome?: string; reason?: string };
  return {
    id: options.id,
    input,
    expected: {
      ...(o.outcome ? { outcome: o.outcome } : {}),
      ...(options.finalBoard === undefined ? {} : { board: options.finalBoard }),
    },
    recorded: [...recordedCalls(events), ...recordedCalls(options.extra ?? [])],
  };
}

const RecordedCallSchema = z.object({
  requestHash: z.string(),
  agentId: z.string(),
  model: z.string(),
  text: z.string(),
  toolCalls: z.array(z.object({ id: z.string(), name: z.string(), arguments: z.string() })).optional(),
  usage: z.object({ inputTokens: z.number(), outputTokens: z.number() }),
  cost: z.number(),
});
const CaseFileSchema = z.object({
  id: z.string().min(1),
  input: z.unknown(),
  expected: z.unknown().optional(),
  recorded: z.array(RecordedCallSchema).optional(),
});

/**
 * Writes a case as `<dir>/<id>.json` (the folder must exist), for {@link loadCases} to read back. Returns
 * the file's path.
 *
 * @example
 * import { writeCase } from 'hearsay/evals';
 *
 * const file = await writeCase('evals/cases', {
 *   id: 'haiku',
 *   input: { goal: 'a haiku about the sea' },
 *   expected: { outcome: 'completed' },
 * });
 */
export async function writeCase(dir: string, c: EvalCase): Promise<string> {
  const file = join(dir, `${c.id.replace(/[^\w.-]+/g, '_')}.json`);
  await writeFile(file, `${JSON.stringify(c, null, 2)}\n`);
  return file;
}

/**
 * Reads every `*.json` case file of a folder (sorted by name). A file that is not a valid case is an
 * error naming the file and the problem; a missing folder is no cases.
 *
 * @example
 * import { check, defineSuite, loadCases } from 'hearsay/evals';
 *
 * export default defineSuite<{ goal: string }, RunResult<Board>>({
 *   name: 'team',
 *   cases: await loadCases<{ goal: string }>('evals/cases'),
 *   run: async (input, { models }) => {
 *     const runtime = createRuntime(models ? { ...team, models } : team); // recorded cases bring their models
 *     return { output: await runtime.run(input) };
 *   },
 *   scorers: [check('completed', ({ output }) => output.outcome === 'completed')],
 * });
 */
export async function loadCases<TInput = unknown>(dir: string): Promise<EvalCase<TInput>[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const out: EvalCase<TInput>[] = [];
  for (const name of names) {
    const file = join(dir, name);
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      throw new TypeError(`${file} is not JSON: ${(error as Error).message}`);
    }
    const parsed = CaseFileSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new TypeError(
        `${file} is not an eval case: ${issue.path.join('.') || '(root)'}: ${issue.message}`,
      );
    }
    out.push(parsed.data as EvalCase<TInput>);
  }
  return out;
}
