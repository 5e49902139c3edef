import { defineAgent, stepMachine } from '../../src/actors/index.js';
import type { HB } from '../fixtures/hub-team.js';

/** Keeps a run live until it is cancelled (it works for a minute once `go` is set). */
export const waiter = defineAgent<HB>({
  id: 'waiter',
  watches: [['go']],
  writes: [['notes']],
  machine: stepMachine<HB, null>({
    when: (b) => b.go && b.notes.length === 0,
    work: async (event) => {
      await event.tools.sleep(60_000);
      return null;
    },
    done: (d) => {
      d.notes.push('waited');
    },
  }),
});

/** Notes the number 42 when `n` becomes 42 (the agenda test vetoes it first). */
export const marker = defineAgent<HB>({
  id: 'marker',
  watches: [['n']],
  writes: [['notes']],
  machine: stepMachine<HB, null>({
    when: (b) => b.n === 42 && !b.notes.includes('42'),
    work: async () => null,
    done: (d) => {
      d.notes.push('42');
    },
  }),
});
