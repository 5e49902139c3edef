import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** A user error: printed as one line, exit code 2 (bad usage) or 1 (the command failed). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

let tsxRegistered = false;

/**
 * Imports a user's module (a suite, a workflow). TypeScript files load through `tsx` when this process
 * was not started with it; without `tsx` installed, that is a clear error.
 */
export async function importModule(file: string): Promise<Record<string, unknown>> {
  const path = resolve(file);
  if (!existsSync(path)) throw new CliError(`No such file: ${file}`, 2);
  if (/\.[cm]?tsx?$/.test(path) && !tsxRegistered && !process.execArgv.some((a) => a.includes('tsx'))) {
    try {
      const api = (await import('tsx/esm/api')) as { register: () => unknown };
      api.register();
      tsxRegistered = true;
    } catch {
      throw new CliError(
        `${file} is TypeScript: install tsx (npm i -D tsx) or give the compiled .js file.`,
        2,
      );
    }
  }
  try {
    return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new CliError(`Could not load ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
