/// <reference lib="dom" />
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Listening, type Runtime } from '../../src/runtime/index.js';
import { type HB, HubBoard, hubInitial, incrementer } from '../fixtures/hub-team.js';
import { browserAvailable, launchChromium } from '../support/browser.js';
import { TOKENS } from '../support/hub.js';

const run = browserAvailable('the client in a real browser');

describe.runIf(run)('the client in a real browser', () => {
  let runtime: Runtime<HB>;
  let hub: Listening;
  let page: Server;
  let pageUrl: string;

  beforeAll(async () => {
    const bundle = await build({
      entryPoints: ['test/client/browser-entry.ts'],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      write: false,
      // The client falls back to `ws` only where there is no standard WebSocket; never in a browser.
      external: ['ws'],
    });
    const script = bundle.outputFiles[0]!.text;
    page = createServer((req, res) => {
      if (req.url?.startsWith('/app.js'))
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
      else
        res
          .writeHead(200, { 'content-type': 'text/html' })
          .end('<!doctype html><title>client</title><script type="module" src="/app.js"></script>');
    });
    page.listen(0, '127.0.0.1');
    await new Promise((r) => page.once('listening', r));
    pageUrl = `http://127.0.0.1:${(page.address() as AddressInfo).port}/`;
    runtime = createRuntime({
      board: { schema: HubBoard, initial: hubInitial },
      agents: [incrementer('a', 5), incrementer('b', 1)],
      goal: (b) => b.n >= 2,
    });
    hub = await runtime.listen({ tokens: { [TOKENS.inspect]: 'inspect' }, log: () => {} });
  });

  afterAll(async () => {
    await runtime?.close();
    page?.close();
  });

  it('connects with the bearer subprotocol, follows a run live, and validates every frame', async () => {
    const browser = await launchChromium();
    try {
      const tab = await browser.newPage();
      await tab.goto(`${pageUrl}?hub=${encodeURIComponent(hub.url)}&token=${TOKENS.inspect}`);
      await tab.waitForFunction(() => window.hearsay?.connected === true, undefined, { timeout: 15_000 });
      expect(await tab.evaluate(() => window.hearsay.roles)).toEqual(['inspect']);
      const result = await runtime.run({ go: true });
      await tab.waitForFunction(
        () => window.hearsay.messages.some((m) => (m as { type: string }).type === 'outcome'),
        undefined,
        { timeout: 15_000 },
      );
      const seen = (await tab.evaluate(() => window.hearsay.messages)) as {
        type: string;
        version?: number;
      }[];
      expect(seen[0]!.type).toBe('snapshot');
      expect(seen.filter((m) => m.type === 'commit').at(-1)!.version).toBe(result.version);
      expect(await tab.evaluate(() => window.hearsay.errors)).toEqual([]);
      // Without a token the browser is refused at the upgrade, and the client says so.
      const refused = await browser.newPage();
      await refused.goto(`${pageUrl}?hub=${encodeURIComponent(hub.url)}`);
      await refused.waitForFunction(() => window.hearsay?.errors.length > 0, undefined, { timeout: 15_000 });
      expect((await refused.evaluate(() => window.hearsay.errors))[0]).toMatch(/refused/);
    } finally {
      await browser.close();
    }
  });
});
