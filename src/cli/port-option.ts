import { CliError } from './load.js';

/**
 * The value of `--port` (`hearsay run`, `hearsay inspect`): a whole number from 0 (any free port) to 65535,
 * written in decimal; anything else is bad usage (exit 2), said before anything is loaded or listened on.
 *
 * @example
 * portOption('7400'); // 7400
 * portOption('abc'); // throws CliError: --port must be a whole number from 0 to 65535, not "abc".
 */
export function portOption(value: string): number {
  const port = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!(port >= 0 && port <= 65535))
    throw new CliError(`--port must be a whole number from 0 to 65535, not "${value}".`, 2);
  return port;
}
