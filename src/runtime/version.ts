/** Hearsay's version, as servers announce it. Kept equal to package.json's by a test. */
export const VERSION = '0.1.0';

/** True for host names and addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
