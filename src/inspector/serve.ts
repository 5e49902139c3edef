import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Options of {@link inspectorHandler}. */
export interface InspectorOptions {
  /** The hub's WebSocket path on the same server (the page connects there). Default `/hearsay`. */
  readonly hubPath?: string;
  /** Where the page connects instead: a hub elsewhere (`hearsay inspect ws://host:port/hearsay`). */
  readonly hubUrl?: string;
  /** The page's own path. Default `/`. */
  readonly basePath?: string;
}

const here = dirname(fileURLToPath(import.meta.url));
/** The built bundle: beside the compiled module (dist/src/inspector → dist/inspector), or dist/ from source. */
const BUNDLE_DIRS = [join(here, '../../inspector'), join(here, '../../dist/inspector')];

/**
 * The folder of the built inspector bundle (`inspector.js`, `inspector.css`), or undefined when it was
 * not built (`npm run build`): for serving the inspector's files from your own server.
 *
 * @example
 * import { inspectorBundleDir } from 'hearsay/hub';
 *
 * const dir = inspectorBundleDir();
 * if (!dir) throw new Error('The inspector bundle is missing: reinstall hearsay.');
 * app.use('/inspector', express.static(dir));
 */
export function inspectorBundleDir(): string | undefined {
  return BUNDLE_DIRS.find((d) => existsSync(join(d, 'inspector.js')));
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(options: InspectorOptions, base: string): string {
  const hub = options.hubUrl
    ? `<meta name="hearsay-hub-url" content="${escapeHtml(options.hubUrl)}">`
    : `<meta name="hearsay-hub" content="${escapeHtml(options.hubPath ?? '/hearsay')}">`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hearsay inspector</title>
<link rel="icon" href="data:,">
${hub}
<link rel="stylesheet" href="${base}inspector.css">
</head>
<body>
<div id="app"></div>
<script type="module" src="${base}inspector.js"></script>
</body>
</html>
`;
}

/**
 * Serves the inspector page: `GET <basePath>` is the page, `<basePath>inspector.js` and `.css` its bundle.
 * Returns a request listener that answers those paths and returns false for any other (so it can sit in
 * front of an application's own handler). The page speaks only the public protocol, through the client.
 *
 * @example
 * const inspector = inspectorHandler();
 * http.createServer((req, res) => inspector(req, res) || app(req, res));
 */
export function inspectorHandler(
  options: InspectorOptions = {},
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const base = (options.basePath ?? '/').replace(/\/?$/, '/');
  const cache = new Map<string, Buffer>();
  const assets: Record<string, string> = {
    'inspector.js': 'text/javascript; charset=utf-8',
    'inspector.css': 'text/css; charset=utf-8',
  };
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = new URL(req.url ?? '/', 'http://inspector').pathname;
    if (!path.startsWith(base)) return false;
    const name = path.slice(base.length);
    const headers = { 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' };
    if (name === '' || name === 'index.html') {
      const dir = inspectorBundleDir();
      if (!dir) {
        res
          .writeHead(503, { 'content-type': 'text/plain; charset=utf-8', ...headers })
          .end('The inspector bundle is not built: run `npm run build` in the hearsay package.\n');
        return true;
      }
      res
        .writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'content-security-policy':
            "default-src 'self'; script-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
          ...headers,
        })
        .end(req.method === 'HEAD' ? undefined : page(options, base));
      return true;
    }
    const type = Object.hasOwn(assets, name) ? assets[name] : undefined;
    if (!type) return false;
    const dir = inspectorBundleDir();
    if (!dir) {
      res.writeHead(404).end();
      return true;
    }
    void (async () => {
      let body = cache.get(name);
      if (!body) {
        body = await readFile(join(dir, name));
        cache.set(name, body);
      }
      res.writeHead(200, { 'content-type': type, ...headers }).end(req.method === 'HEAD' ? undefined : body);
    })().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`Could not read the inspector bundle: ${String(error)}\n`);
    });
    return true;
  };
}
