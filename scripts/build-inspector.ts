import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Bundles the inspector page (Preact and uPlot included) into `dist/inspector`: `inspector.js` and
 * `inspector.css`. The hub's HTTP server serves them; `npm run build` builds them (run by `npm test`, `npm start` and `npm pack`, through `prepack`).
 */
export async function buildInspector(outDir = join(root, 'dist', 'inspector')): Promise<{ bytes: number }> {
  await mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: [join(root, 'src/inspector/app/main.tsx')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: false,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    // The client falls back to `ws` only where there is no standard WebSocket: never in a browser.
    external: ['ws'],
    write: false,
    legalComments: 'eof',
  });
  const js = result.outputFiles[0]!.text;
  const css = [
    await readFile(join(root, 'node_modules/uplot/dist/uPlot.min.css'), 'utf8'),
    await readFile(join(root, 'src/inspector/app/style.css'), 'utf8'),
  ].join('\n');
  // Written beside and renamed into place: a server reading the bundle meanwhile sees a whole file.
  for (const [name, text] of [
    ['inspector.js', js],
    ['inspector.css', css],
  ] as const) {
    const temp = join(outDir, `.${name}.${process.pid}.tmp`);
    await writeFile(temp, text);
    await rename(temp, join(outDir, name));
  }
  return { bytes: js.length + css.length };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { bytes } = await buildInspector();
  console.log(`inspector bundle: ${(bytes / 1024).toFixed(0)} KiB in dist/inspector`);
}
