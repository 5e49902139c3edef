/**
 * The three-agent team the two-copies suites run across copies of the package: a planner fills a Keyed
 * collection, a pooled worker (a statusPool over it) works each task, a summarizer writes the report once
 * every task is done. Declared with the given copy's `defineAgent`, machines, `statusPool` and `keyed`, and
 * the given zod, so whichever runtime runs it sees values another copy made.
 */
import type { BoardEvent, Keyed } from 'hearsay';

type Root = typeof import('hearsay');
type Zod = typeof import('zod').z;

export interface CopyTask {
  title: string;
  status: 'open' | 'claimed' | 'done';
  result?: string | undefined;
}
export type CopyBoard = { goal: string; tasks: Keyed<CopyTask>; report?: string | undefined };

export function copyTeam(
  def: Pick<Root, 'defineAgent' | 'stepMachine' | 'itemMachine' | 'statusPool' | 'keyed'>,
  z: Zod,
  options: {
    /** What the worker does with a task. */
    readonly work: (event: BoardEvent<CopyBoard>, key: string) => Promise<string>;
    /** The report, from the done tasks. */
    readonly report: (tasks: Keyed<CopyTask>) => string;
  },
) {
  const { defineAgent, stepMachine, itemMachine, statusPool, keyed } = def;
  const Task = z.object({
    title: z.string(),
    status: z.enum(['open', 'claimed', 'done']),
    result: z.string().optional(),
  });
  const schema = z.object({ goal: z.string(), tasks: keyed(Task), report: z.string().optional() });
  const planner = defineAgent<CopyBoard>({
    id: 'planner',
    watches: [['goal']],
    writes: [['tasks']],
    machine: stepMachine<CopyBoard, string[]>({
      when: (b) => b.goal !== '' && b.tasks.size === 0,
      work: async () => ['design', 'build', 'test'],
      done: (d, titles) => {
        for (const title of titles) d.tasks.set(title, { title, status: 'open' });
      },
    }),
  });
  const worker = defineAgent<CopyBoard>({
    id: 'worker',
    watches: [['tasks']],
    writes: [['tasks']],
    pool: statusPool((b: CopyBoard) => b.tasks),
    machine: itemMachine<CopyBoard, string>({
      work: ({ event, key }) => options.work(event, key),
      done: (d, { key, output }) => {
        const task = d.tasks.get(key)!;
        task.status = 'done';
        task.result = output;
      },
    }),
  });
  const summarizer = defineAgent<CopyBoard>({
    id: 'summarizer',
    watches: [['tasks']],
    writes: [['report']],
    machine: stepMachine<CopyBoard, string>({
      when: (b) => b.tasks.size > 0 && [...b.tasks.values()].every((t) => t.status === 'done') && !b.report,
      work: async (event) => options.report(event.board.tasks),
      done: (d, report) => {
        d.report = report;
      },
    }),
  });
  return { schema, agents: [planner, worker, summarizer] };
}
