/// <reference lib="dom" />
import { mkdir } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hierarchicalTeam } from '../../examples/hierarchical/team.js';
import type { Board } from '../../examples/hub-and-spoke/board.js';
import { inspectedTeam } from '../../examples/inspector/team.js';
import { buildInspector } from '../../scripts/build-inspector.js';
import { createRuntime, type Listening, type Runtime } from '../../src/runtime/index.js';
import { type HB, HubBoard, hubInitial } from '../fixtures/hub-team.js';
import { browserAvailable, launchChromium } from '../support/browser.js';
import { TOKENS } from '../support/hub.js';

const run = browserAvailable('the inspector in a real browser');

const tokens = {
  [TOKENS.inspect]: 'inspect',
  [TOKENS.operator]: { roles: ['operator'], name: 'ops-alice' },
} as const;

describe.runIf(run)('the inspector in a real browser', () => {
  let browser: Browser;

  beforeAll(async () => {
    // The page under test is built from the current source, as `npm install` builds it.
    await buildInspector();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function openPage(url: string): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(url);
    return { page, errors };
  }

  // biome-ignore lint/performance/useDomNodeTextContent: Playwright's Locator.innerText (the rendered text), not the DOM property
  const text = (page: Page, testId: string) => page.getByTestId(testId).first().innerText();

  it('shows a run live (board, log, agents, waterfall, cost) and an operator approves from the page', async () => {
    const runtime: Runtime<Board> = createRuntime(inspectedTeam(400));
    const hub: Listening = await runtime.listen({ tokens, log: () => {} });
    try {
      expect(hub.inspectorUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const { page, errors } = await openPage(`${hub.inspectorUrl}#token=${TOKENS.operator}`);
      await page.getByTestId('connection').filter({ hasText: 'connected' }).waitFor();
      // The token left the address bar (it stays in this tab's session storage).
      expect(page.url()).not.toContain('token');

      const started = runtime.run({ goal: 'a trustworthy runtime' }, { runId: 'team-1' });
      await page.locator('[data-run="team-1"]').waitFor();
      await page.locator('[data-run="team-1"]').click();

      // The board fills in as agents commit; the newest commit is highlighted with its author.
      await page.locator('.node[data-path="tasks.r1"]').waitFor();
      const early = Number((await text(page, 'board-version')).match(/v(\d+)/)![1]);
      await page.getByTestId('last-commit').waitFor();
      await expect
        .poll(async () => Number((await text(page, 'board-version')).match(/v(\d+)/)![1]))
        .toBeGreaterThan(early);
      expect(await page.locator('.node.changed').count()).toBeGreaterThan(0);

      // The run pauses for the publisher's approval; meanwhile everything it did is on the page.
      expect((await started).outcome).toBe('awaiting_approval');
      await page.getByRole('button', { name: /1 approval pending/ }).waitFor();

      const logText = await text(page, 'log');
      expect(logText).toMatch(/commit/);
      // Filtering by agent: the planner's own entries, its start among them.
      await page.getByTestId('log-agent').selectOption('planner');
      await expect.poll(() => text(page, 'log-list')).toMatch(/started planner#/);
      // Filtering the log by agent shows only that agent's entries.
      await page.getByTestId('log-agent').selectOption('reviewer');
      const agents = await page.locator('[data-testid="log-list"] .agent').allInnerTexts();
      expect(agents.length).toBeGreaterThan(0);
      expect(new Set(agents)).toEqual(new Set(['reviewer']));

      await page.locator('nav [data-tab="agents"]').click();
      await page.locator('.agent-card[data-agent="reviewer"] [data-testid="statechart"]').waitFor();
      expect(await page.locator('.agent-card').count()).toBe(6);
      expect(await page.locator('.agent-card[data-agent="publisher"] .state.current').count()).toBe(1);
      // biome-ignore lint/performance/useDomNodeTextContent: Playwright's Locator.innerText (the rendered text), not the DOM property
      expect(await page.locator('.agent-card[data-agent="planner"]').innerText()).toMatch(
        /1 started · 1 done/,
      );

      await page.locator('nav [data-tab="timeline"]').click();
      await page.locator('.wf-row[data-kind="model"]').first().waitFor();
      expect(await page.locator('.wf-row[data-kind="activation"]').count()).toBeGreaterThan(5);
      const tip = await page.locator('.wf-row[data-kind="model"] .wf-bar').first().getAttribute('title');
      expect(tip).toMatch(/latency: \d+ ms/);
      expect(tip).toMatch(/tokens: \d+ in, \d+ out/);
      expect(tip).toMatch(/cost: \$/);
      const planner = await page
        .locator('.wf-row[data-kind="activation"] .wf-bar')
        .first()
        .getAttribute('title');
      expect(planner).toMatch(/model calls: 1, \d+ tokens, \$/);

      await page.locator('nav [data-tab="cost"]').click();
      await page.locator('[data-testid="cost-chart"] canvas').waitFor();
      const total = await text(page, 'cost-total');
      expect(total).toMatch(/^run/);
      expect(Number(total.split('\t')[4])).toBeGreaterThan(0);
      expect(await page.locator('.cost tr[data-agent]').count()).toBeGreaterThanOrEqual(4);

      await page.locator('nav [data-tab="agenda"]').click();
      await page
        .getByTestId('agenda')
        .getByText(/Cycle \d+/)
        .waitFor();

      await page.locator('nav [data-tab="output"]').click();
      await page.locator('.stream pre').first().waitFor();

      // Approve the pending irreversible action from the page: the run continues and completes.
      await page.locator('nav [data-tab="approvals"]').click();
      await page.locator('.approval[data-status="pending"]').getByText('publish_report').waitFor();
      await page.locator('.approval[data-status="pending"] [data-action="approve"]').click();
      await page.getByTestId('run-outcome').filter({ hasText: 'completed' }).waitFor();
      await page.locator('.node[data-path="published"]').filter({ hasText: 'ops-alice' }).waitFor();
      expect(await page.locator('.approval').first().getAttribute('data-status')).toMatch(/approved|used/);

      // The slider steps back through history: version 0 is the input board, before any task.
      const slider = page.getByTestId('version-slider');
      await slider.fill('1');
      await page
        .getByTestId('board-version')
        .filter({ hasText: /^v1 of/ })
        .waitFor();
      // biome-ignore lint/performance/useDomNodeTextContent: Playwright's Locator.innerText (the rendered text), not the DOM property
      await expect.poll(() => page.locator('.node[data-path="tasks"]').innerText()).toMatch(/\{0\}/);

      await page.locator('nav [data-tab="timeline"]').click();
      await mkdir('test-artifacts', { recursive: true });
      await page.screenshot({ path: 'test-artifacts/inspector.png', fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await runtime.close();
    }
  });

  it('shows an inspect-only token no approval or agenda controls', async () => {
    const runtime = createRuntime(inspectedTeam(5));
    const hub = await runtime.listen({ tokens, log: () => {} });
    try {
      expect((await runtime.run({ goal: 'x' }, { runId: 'paused' })).outcome).toBe('awaiting_approval');
      const { page } = await openPage(`${hub.inspectorUrl}#token=${TOKENS.inspect}`);
      await page.locator('[data-run="paused"]').waitFor();
      await page.locator('nav [data-tab="approvals"]').click();
      await page.locator('.approval[data-status="pending"]').waitFor();
      expect(await page.locator('[data-action="approve"]').count()).toBe(0);
      await page.getByText('Answering approvals needs the operator role.').waitFor();
      await page.locator('nav [data-tab="agenda"]').click();
      // The agenda tab is drawn, for a viewer without the operator role: no veto or promote button.
      await page.getByText('Vetoes and promotions need the operator role.').waitFor();
      expect(await page.locator('[data-action="veto"], [data-action="promote"]').count()).toBe(0);
    } finally {
      await runtime.close();
    }
  });

  it('asks for a token when the hub refuses the page, and connects with the one given', async () => {
    const runtime = createRuntime(inspectedTeam(5));
    const hub = await runtime.listen({ tokens, log: () => {} });
    try {
      const { page } = await openPage(hub.inspectorUrl!);
      await page.locator('.token-form').waitFor();
      await page.locator('.token-form input').fill(TOKENS.inspect);
      await page.locator('.token-form button').click();
      await page.getByTestId('connection').filter({ hasText: 'connected' }).waitFor();
    } finally {
      await runtime.close();
    }
  });

  it('lets an operator veto an agent from the agenda: the scheduler refuses it from then on', async () => {
    const { waiter, marker } = await import('./support.js');
    const runtime = createRuntime({
      board: { schema: HubBoard, initial: hubInitial },
      agents: [waiter, marker],
      goal: (b: HB) => b.n < 0,
    });
    const hub = await runtime.listen({ tokens, log: () => {} });
    try {
      const handle = await runtime.start({ go: true }, { runId: 'vetoed' });
      const { page, errors } = await openPage(`${hub.inspectorUrl}?run=vetoed#token=${TOKENS.operator}`);
      await page.locator('nav [data-tab="agenda"]').click();
      await page
        .getByTestId('agenda')
        .getByText(/Cycle \d+/)
        .waitFor();
      await page.locator('.op[data-agent="marker"] [data-action="veto"]').click();
      await page.getByText('Done: veto marker').waitFor();
      // The change that would enable the marker: it is refused, with the reason, and never runs.
      const r = await handle.board.commit({
        baseVersion: handle.board.version,
        reads: [],
        patches: [{ op: 'replace', path: ['n'], value: 42 }],
        author: 'loader',
      });
      expect(r.ok).toBe(true);
      await page.locator('.agenda td.warn').filter({ hasText: 'vetoed' }).waitFor();
      await page.locator('nav [data-tab="log"]').click();
      await page.getByTestId('log-agent').selectOption('marker');
      await expect.poll(() => text(page, 'log-list')).toMatch(/refused \(vetoed\): vetoed by an operator/);
      expect(handle.board.state.notes).toEqual([]);
      expect(errors).toEqual([]);
      handle.cancel();
      await handle.result;
    } finally {
      await runtime.close();
    }
  });

  it('navigates from a parent run to its child runs and back', async () => {
    const runtime = createRuntime(hierarchicalTeam(5));
    const hub = await runtime.listen({ tokens, log: () => {} });
    try {
      const result = await runtime.run({ goal: 'navigation' }, { runId: 'parent' });
      expect(result.outcome).toBe('completed');
      const childIds = [...result.board.parts.values()].map((p) => p.childRun!);
      const { page, errors } = await openPage(`${hub.inspectorUrl}?run=parent#token=${TOKENS.inspect}`);
      await page.locator('[data-testid="child-runs"] button').nth(1).waitFor();
      // The runs list shows each child under its parent.
      await page.locator(`[data-run="${childIds[0]}"]`).filter({ hasText: '↳' }).waitFor();
      await page.locator(`[data-child="${childIds[0]}"]`).click();
      await page.getByTestId('run-id').filter({ hasText: childIds[0]! }).waitFor();
      await page.locator('.node[data-path="summary"]').waitFor();
      await page.getByTestId('parent-run').click();
      await page
        .getByTestId('run-id')
        .filter({ hasText: /^parent$/ })
        .waitFor();
      expect(errors).toEqual([]);
    } finally {
      await runtime.close();
    }
  });

  it('keeps a run of 10,000 commits responsive: every commit counted, a bounded number of rows in the DOM', async () => {
    const waiter = (await import('./support.js')).waiter;
    const runtime = createRuntime({
      board: { schema: HubBoard, initial: hubInitial },
      agents: [waiter],
      goal: (b: HB) => b.n < 0,
    });
    const hub = await runtime.listen({ tokens, log: () => {} });
    try {
      const handle = await runtime.start({ go: true }, { runId: 'big' });
      const { page, errors } = await openPage(`${hub.inspectorUrl}?run=big#token=${TOKENS.operator}`);
      await page.getByTestId('connection').filter({ hasText: 'connected' }).waitFor();
      for (let i = 1; i <= 10_000; i++) {
        const r = await handle.board.commit({
          baseVersion: handle.board.version,
          reads: [],
          patches: [
            { op: 'replace', path: ['n'], value: i },
            ...(i % 10 === 0 ? [{ op: 'add' as const, path: ['out', `k${i}`], value: `item ${i}` }] : []),
          ],
          author: 'loader',
        });
        expect(r.ok).toBe(true);
      }
      // The run's input is version 1; the loader's commits follow it.
      const head = handle.board.version;
      expect(head).toBe(10_001);
      await page
        .getByTestId('board-version')
        .filter({ hasText: `v${head} (live)` })
        .waitFor({ timeout: 60_000 });
      await page
        .locator('.filters label')
        .filter({ hasText: 'commit' })
        .filter({ hasText: `${head}` })
        .waitFor();
      // Virtualised: the log holds 10,000 commits but renders only the rows in view.
      expect(Number(await page.getByTestId('log-list').getAttribute('data-count'))).toBeGreaterThanOrEqual(
        10_000,
      );
      expect(await page.locator('[data-testid="log-list"] .vrow').count()).toBeLessThan(100);
      // A collection of 1,000 keys shows a page of them, and more on demand.
      await page.locator('.node[data-path="out"] > .twisty').click();
      expect(await page.locator('.node[data-path="out"] > .children > .node').count()).toBe(100);
      await page.locator('.node[data-path="out"] .more').click();
      expect(await page.locator('.node[data-path="out"] > .children > .node').count()).toBe(200);
      // Still responsive: scrolling to the top of the log shows its first entries.
      await page.getByTestId('log-list').evaluate((el) => {
        el.scrollTop = 0;
      });
      await page
        .locator('[data-testid="log-list"] .seq')
        .filter({ hasText: /^#[1-9]$/ })
        .first()
        .waitFor();
      expect(errors).toEqual([]);
      handle.cancel();
      await handle.result;
    } finally {
      await runtime.close();
    }
  });
});
