/**
 * The inspector page's cost per message: how long its run model takes to apply a run's stream (a commit
 * changing one key of a 1,000-key collection, as in the 10,000-commit browser test). The page renders at
 * most once per frame, so this is what bounds how fast a run it can follow.
 */
import { RunModel } from '../src/inspector/app/model.js';
import type { ServerMessage } from '../src/protocol/index.js';
import { type BenchCase, repeat } from './harness.js';

const N = 10_000;

function stream(): ServerMessage[] {
  const out: ServerMessage[] = [];
  for (let i = 1; i <= N; i++) {
    out.push({
      v: 1,
      type: 'commit',
      runId: 'r',
      seq: i,
      time: i,
      version: i,
      baseVersion: i - 1,
      author: `agent${i % 8}`,
      patches: [{ op: 'replace', path: ['items', `k${i % 1000}`, 'n'], value: i }],
      writes: [['items', `k${i % 1000}`, 'n']],
    });
  }
  return out;
}

export const inspectorCases: BenchCase[] = [
  {
    group: 'inspector',
    name: 'model.commits10k',
    async run() {
      const messages = stream();
      const items: Record<string, { n: number }> = {};
      for (let k = 0; k < 1000; k++) items[`k${k}`] = { n: 0 };
      const r = await repeat(async () => {
        const model = new RunModel('r');
        model.apply({ v: 1, type: 'snapshot', runId: 'r', seq: 0, version: 0, state: { items } });
        const start = process.hrtime.bigint();
        for (const m of messages) model.apply(m);
        const us = Number(process.hrtime.bigint() - start) / 1000 / N;
        if (model.version !== N || model.log.length !== N) throw new Error('the model lost messages');
        return us;
      });
      return { group: 'inspector', case: 'model.commits10k', metric: 'us_per_msg', ...r, n: N, keys: 1000 };
    },
  },
];
