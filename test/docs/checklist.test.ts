import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;

describe('the production checklist', () => {
  it('names only tests that exist: every file it cites, and every test title it quotes', () => {
    const page = readFileSync(`${root}docs/production-checklist.md`, 'utf8');
    const rows = page
      .split('\n')
      .filter((l) => l.startsWith('| ') && !l.startsWith('| item') && !l.startsWith('|---'));
    expect(rows.length).toBe(12);
    let quoted = 0;
    for (const row of rows) {
      const proof = row.split(' | ').at(-1)!;
      // `test/x.test.ts` › "title", "title"; `test/y.test.ts`
      for (const cite of proof.split(/;\s*(?=`test\/)/)) {
        const file = /`(test\/[^`]+)`/.exec(cite)?.[1];
        expect(file, row).toBeDefined();
        expect(existsSync(`${root}${file}`), file).toBe(true);
        const source = readFileSync(`${root}${file}`, 'utf8');
        for (const [, title] of cite.matchAll(/"([^"]+?)(?:…)?"/g)) {
          // A title may be cut short with … at either end: the rest must be in a test's title in that file.
          expect(source.includes(title!.replace(/^…|…$/g, '')), `${file}: ${title}`).toBe(true);
          quoted += 1;
        }
      }
    }
    expect(quoted).toBeGreaterThan(15);
  });
});
