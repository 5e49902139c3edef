/**
 * Issue 18: `hearsay run` and `hearsay eval` draw their progress line only on a terminal, redraw it in
 * place, and clear it before the final output, on an error and on Ctrl-C; off a terminal (a pipe, a CI
 * log) they draw none. Off a terminal through the CLI over pipes; on one through a fake terminal that
 * stdout and stderr share, as on a real one, replayed into the screen a user would see.
 */
import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runSuiteWithProgress } from '../../src/cli/eval.js';
import { CLEAR_LINE, ProgressLine } from '../../src/cli/progress.js';
import { runWorkflow } from '../../src/cli/run.js';
import { defineSuite, exact } from '../../src/evals/index.js';
import { initial, reactor, slow, TestBoard } from '../support/team.js';

const root = new URL('../..', import.meta.url).pathname;
const cli = (...args: string[]) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: root,
    timeout: 120_000,
  });

/** A terminal: what was written to it, and the screen it shows (\r, erase-line and \n interpreted). */
class FakeTerminal {
  readonly isTTY = true;
  readonly writes: string[] = [];
  constructor(readonly columns = 200) {}
  write(text: string): boolean {
    this.writes.push(text);
    return true;
  }
  screen(): string[] {
    const lines = [''];
    let col = 0;
    const all = this.writes.join('');
    for (let i = 0; i < all.length; i++) {
      if (all.startsWith('\x1b[2K', i)) {
        lines[lines.length - 1] = '';
        i += 3;
      } else if (all[i] === '\r') col = 0;
      else if (all[i] === '\n') {
        lines.push('');
        col = 0;
      } else {
        const line = lines[lines.length - 1]!;
        lines[lines.length - 1] = line.slice(0, col).padEnd(col) + all[i] + line.slice(col + 1);
        col += 1;
      }
    }
    return lines;
  }
}

/** console.log goes to the same terminal as the progress line, as stdout and stderr do on a real one. */
function sharing(term: FakeTerminal) {
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    term.write(`${args.join(' ')}\n`);
  });
}
afterEach(() => {
  vi.restoreAllMocks();
});

const progressOf = /run .*: \d+ activations, \d+ tokens/;

function team() {
  return {
    board: { schema: TestBoard, initial },
    agents: [
      reactor({
        id: 'bump',
        watches: [['go']],
        writes: [['n']],
        when: (b) => b.go && b.n < 3,
        write: (d) => {
          d.n += 1;
        },
      }),
      reactor({
        id: 'echo',
        watches: [['n']],
        writes: [['out']],
        when: (b) => b.n > 0 && !b.out.has('echo'),
        write: (d) => {
          d.out.set('echo', 'seen');
        },
      }),
    ],
  } as never;
}

describe('progress off a terminal', () => {
  it('hearsay run writes no progress line and no \\r to a pipe', async () => {
    const r = await cli('run', 'examples/hub-and-spoke/workflow.ts', '--no-inspect');
    expect(r.stdout).toMatch(/^completed: /m);
    expect(r.stderr).toBe('');
    expect(r.stdout.includes('\r') || r.stdout.includes('\x1b')).toBe(false);
  });

  it('hearsay eval writes no progress bar to a pipe', async () => {
    const r = await cli('eval', 'examples/evals/team.suite.ts', '--repeat', '1');
    expect(r.stdout).toMatch(/suite team: \d+\/\d+ passed/);
    expect(r.stderr).toBe('');
    expect(r.stdout.includes('\r') || r.stdout.includes('\x1b')).toBe(false);
    expect(r.stdout).not.toMatch(/\[#+-*\] \d+\/\d+/);
  });

  it('a ProgressLine on a stream that is not a terminal writes nothing', () => {
    const writes: string[] = [];
    for (const isTTY of [false, undefined]) {
      const line = new ProgressLine({ isTTY, write: (t: string) => writes.push(t) });
      line.show('1/3');
      line.above(() => writes.push('other\n'));
      line.show('2/3');
      line.clear();
    }
    expect(writes).toEqual(['other\n', 'other\n']);
  });
});

describe('progress on a terminal', () => {
  it('hearsay run redraws its line in place and clears it before the result', async () => {
    const term = new FakeTerminal();
    sharing(term);
    const code = await runWorkflow(
      'team',
      team(),
      { go: true },
      { 'no-inspect': true },
      {
        progress: term,
        signals: new EventEmitter(),
      },
    );
    expect(code).toBe(0);
    const drawn = term.writes.filter((w) => progressOf.test(w));
    expect(drawn.length).toBeGreaterThan(0);
    // Every draw starts by returning to the line's start and erasing it; none ends a line.
    for (const w of drawn) expect(w.startsWith(CLEAR_LINE) && !w.includes('\n')).toBe(true);
    // The screen holds the result, and no trace of the progress line.
    const screen = term.screen();
    expect(screen.filter((l) => progressOf.test(l))).toEqual([]);
    expect(screen).toEqual([expect.stringMatching(/^quiescent: .*activations.*version \d+\)$/), '']);
  });

  it('cuts a line longer than the terminal, so a redraw does not wrap', () => {
    const term = new FakeTerminal(10);
    const line = new ProgressLine(term);
    line.show('0123456789abcdef');
    expect(term.writes).toEqual([`${CLEAR_LINE}012345678`]);
    line.show('0123456789xyz');
    expect(term.writes).toHaveLength(1);
    line.above(() => term.write('printed\n'));
    expect(term.screen()).toEqual(['printed', '012345678']);
  });

  it('draws a text with control characters (a newline in a case id) on one row', () => {
    const term = new FakeTerminal();
    const line = new ProgressLine(term);
    line.show('case a\nb\x1b[31m 1/2');
    expect(term.screen()).toEqual(['case a b [31m 1/2']);
    line.clear();
    expect(term.screen()).toEqual(['']);
  });

  it('hearsay run clears its line on Ctrl-C', async () => {
    const term = new FakeTerminal();
    sharing(term);
    const signals = new EventEmitter();
    const waiting = {
      board: { schema: TestBoard, initial },
      agents: [
        reactor({
          id: 'bump',
          watches: [['go']],
          writes: [['n']],
          when: (b) => b.go && b.n === 0,
          write: (d) => {
            d.n = 1;
          },
        }),
        // A model call that takes a minute: the run is still going when Ctrl-C comes.
        slow({
          id: 'slow',
          ms: 60_000,
          watches: [['n']],
          writes: [['out']],
          when: (b) => b.n === 1,
          write: () => {},
        }),
      ],
    } as never;
    const write = term.write.bind(term);
    term.write = (text: string) => {
      const r = write(text);
      if (progressOf.test(text) && text.includes('2 activations')) signals.emit('SIGINT');
      return r;
    };
    const code = await runWorkflow(
      'waiting',
      waiting,
      { go: true },
      { 'no-inspect': true },
      {
        progress: term,
        signals,
      },
    );
    expect(code).toBe(1);
    expect(term.writes.some((w) => w.includes('2 activations'))).toBe(true);
    const screen = term.screen();
    expect(screen.filter((l) => progressOf.test(l))).toEqual([]);
    expect(screen).toEqual([expect.stringMatching(/^cancelled: interrupted \(SIGINT\)/), '']);
    expect(signals.listenerCount('SIGINT')).toBe(0);
  });

  it('hearsay eval redraws its bar in place and clears it before the report, and on Ctrl-C', async () => {
    const suite = defineSuite({
      name: 'numbers',
      cases: [1, 2, 3].map((n) => ({ id: `n${n}`, input: n })),
      run: async (input) => ({ output: input * 2 }),
      scorers: [exact('$', 4)],
    });
    const term = new FakeTerminal();
    const report = await runSuiteWithProgress(
      suite,
      { concurrency: 1 },
      {
        progress: term,
        signals: new EventEmitter(),
      },
    );
    expect(report.overall.runs).toBe(3);
    const bars = term.writes.filter((w) => /\[#+-*\] \d\/3/.test(w));
    expect(bars).toHaveLength(3);
    for (const w of bars) expect(w.startsWith(CLEAR_LINE) && !w.includes('\n')).toBe(true);
    expect(term.writes.at(-1)).toBe(CLEAR_LINE);
    expect(term.screen()).toEqual(['']);

    // Ctrl-C while a case runs: the bar is cleared, no further case starts, and the command fails.
    const signals = new EventEmitter();
    const stuck = new FakeTerminal();
    let started = 0;
    const slowSuite = defineSuite({
      name: 'slow',
      cases: [1, 2, 3, 4].map((n) => ({ id: `s${n}`, input: n })),
      run: async (input) => {
        started += 1;
        if (input === 2) signals.emit('SIGINT');
        return { output: input };
      },
      scorers: [exact('$', 1)],
    });
    await expect(
      runSuiteWithProgress(slowSuite, { concurrency: 1 }, { progress: stuck, signals }),
    ).rejects.toMatchObject({
      code: 130,
      message: expect.stringMatching(/interrupted \(SIGINT\)/),
    });
    expect(started).toBe(2);
    expect(stuck.screen()).toEqual(['']);
    expect(signals.listenerCount('SIGINT')).toBe(0);
  });
});
