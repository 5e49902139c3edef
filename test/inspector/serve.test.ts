import { execFile, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { buildInspector } from '../../scripts/build-inspector.js';
import { inspectorBundleDir, inspectorHandler } from '../../src/inspector/index.js';

const root = new URL('../..', import.meta.url).pathname;
let servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
});

async function serve(handler: ReturnType<typeof inspectorHandler>): Promise<string> {
  const server = createServer((req, res) => {
    if (!handler(req, res)) res.writeHead(418).end('app');
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('serving the inspector', () => {
  it('serves the page and its bundle, and leaves every other request to the application', async () => {
    if (!inspectorBundleDir()) await buildInspector();
    const base = await serve(inspectorHandler({ hubPath: '/hub"<x>', basePath: '/inspect' }));
    const page = await fetch(`${base}/inspect/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    const html = await page.text();
    // The hub path is escaped into the page, never interpreted as markup.
    expect(html).toContain('<meta name="hearsay-hub" content="/hub&#34;&#60;x&#62;">');
    expect(html).toContain('src="/inspect/inspector.js"');
    const js = await fetch(`${base}/inspect/inspector.js`);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect((await js.text()).length).toBeGreaterThan(10_000);
    expect((await fetch(`${base}/inspect/inspector.css`)).headers.get('content-type')).toMatch(/css/);
    const head = await fetch(`${base}/inspect/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    for (const other of [
      '/',
      '/inspect/secret.txt',
      '/inspect/../package.json',
      '/inspect/__proto__',
      '/inspect/constructor',
    ])
      expect((await fetch(`${base}${other}`)).status).toBe(418);
    expect((await fetch(`${base}/inspect/`, { method: 'POST' })).status).toBe(418);
  });

  it('`hearsay inspect` serves the page against the hub it names; a bad address is one line and exit 2', async () => {
    if (!inspectorBundleDir()) await buildInspector();
    const bad = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'inspect', 'http://x'],
      {
        cwd: root,
      },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);

    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'inspect', 'ws://127.0.0.1:7400/hearsay', '--no-open'],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
          const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      const html = await (await fetch(url)).text();
      expect(html).toContain('<meta name="hearsay-hub-url" content="ws://127.0.0.1:7400/hearsay">');
    } finally {
      child.kill('SIGTERM');
    }
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(0);
  });
});
