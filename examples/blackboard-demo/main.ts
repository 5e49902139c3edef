/**
 * A small team shares one blackboard: a planner posts tasks, three workers claim and finish them in
 * parallel through optimistic commits, and a reviewer follows the log. Offline; takes about a second.
 */

import { createBlackboard, formatPath, keyed } from 'hearsay';
import { z } from 'zod';

const Task = z.object({
  title: z.string(),
  status: z.enum(['open', 'claimed', 'done']),
  owner: z.string().optional(),
  result: z.string().optional(),
});
const Board = z.object({
  goal: z.string(),
  tasks: keyed(Task),
  summary: z.string().optional(),
});

const board = await createBlackboard({ schema: Board, initial: { goal: 'Write a launch note', tasks: {} } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

board.subscribe({ from: 1 }, (e) => {
  if (e.type === 'message')
    console.log(`  #${e.seq} ${e.author} says on "${e.topic}": ${JSON.stringify(e.payload)}`);
  else
    console.log(
      `  #${e.seq} v${e.version} ${e.author.padEnd(9)} wrote ${e.writes.map(formatPath).join(', ')}`,
    );
});

// The planner decomposes the goal into tasks.
await board.transact(
  (d) => {
    for (const [i, title] of ['outline', 'draft intro', 'draft body', 'pick title', 'proofread'].entries()) {
      d.tasks.set(`t${i + 1}`, { title, status: 'open' });
    }
  },
  { author: 'planner' },
);

let conflicts = 0;
async function worker(name: string): Promise<void> {
  for (;;) {
    // Claim one open task: the commit conflicts if another worker claimed it first, and transact retries.
    const claim = await board.transact(
      (d) => {
        for (const [id, task] of d.tasks) {
          if (task.status === 'open') {
            task.status = 'claimed';
            task.owner = name;
            return id;
          }
        }
        return undefined;
      },
      { author: name },
    );
    if (!claim.ok) throw new Error(claim.error.message);
    conflicts += claim.attempts - 1;
    const id = claim.value;
    if (id === undefined) return;
    await sleep(20 + Math.random() * 30); // the "model call"
    await board.transact(
      (d) => {
        const task = d.tasks.get(id)!;
        task.status = 'done';
        task.result = `${task.title} by ${name}`;
      },
      { author: name },
    );
  }
}

await Promise.all(['alice', 'bob', 'carol'].map(worker));
await board.publish('review', { verdict: 'ship it' }, { author: 'reviewer' });
await board.transact((d) => (d.summary = [...d.tasks.values()].map((t) => t.result).join('; ')), {
  author: 'writer',
});

// A stale write is refused, not silently applied.
const stale = await board.commit({
  baseVersion: 1,
  reads: [],
  patches: [{ op: 'replace', path: ['tasks', 't1', 'status'], value: 'open' }],
  author: 'latecomer',
});
await sleep(0);
console.log(`\nStale commit from version 1: ${stale.ok ? 'accepted?!' : stale.error.message}`);
const invalid = await board.commit({
  baseVersion: board.version,
  reads: [],
  patches: [{ op: 'replace', path: ['tasks', 't1', 'status'], value: 'finished' }],
  author: 'typo',
});
console.log(`Invalid commit: ${invalid.ok ? 'accepted?!' : invalid.error.message}`);
console.log(`\nBoard at v${board.version} after ${conflicts} claim conflict(s), resolved by retries:`);
console.log(JSON.stringify(board.state, null, 2));
console.log(`Version 1 had ${(await board.at(1)).tasks.size} open tasks.`);
