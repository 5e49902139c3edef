import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError } from './load.js';

/**
 * The version of the package this file belongs to: the first `package.json` with a name and a version
 * found walking up from the file (`dist/src/cli/` in the package a user installed, `src/cli/` in a
 * checkout), so `hearsay --version` names the copy that runs, wherever it is installed.
 */
export function packageVersion(fileUrl: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(fileUrl));
  for (;;) {
    const found = readPackage(join(dir, 'package.json'));
    if (found) return found;
    const up = dirname(dir);
    if (up === dir)
      throw new CliError(`No package.json above ${fileURLToPath(fileUrl)}: the install is broken.`);
    dir = up;
  }
}

function readPackage(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const pkg = JSON.parse(text) as { name?: unknown; version?: unknown };
  return typeof pkg.name === 'string' && typeof pkg.version === 'string' ? pkg.version : undefined;
}
