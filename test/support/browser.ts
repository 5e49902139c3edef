import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** Debian's Chromium (or `CHROMIUM_PATH`), if this machine has one. */
export function chromiumPath(): string | undefined {
  const configured = process.env.CHROMIUM_PATH;
  if (configured) return existsSync(configured) ? configured : undefined;
  return CANDIDATES.find((p) => existsSync(p));
}

/**
 * Whether browser suites run here. Without Chromium they are skipped with a printed reason; under
 * `CI=true` a missing browser is a failure (CI installs Debian's `chromium`).
 */
export function browserAvailable(suite: string): boolean {
  if (chromiumPath()) return true;
  // CI=true is the standard; any other non-false value (CI=1) counts as CI too.
  if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') {
    throw new Error(
      `${suite}: no Chromium found (apt-get install -y chromium, or set CHROMIUM_PATH); CI requires it.`,
    );
  }
  console.warn(
    `${suite}: skipped — no Chromium on this machine (apt-get install -y chromium, or set CHROMIUM_PATH).`,
  );
  return false;
}

/** Launches headless Chromium with the flags this sandboxed, offline machine needs. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath()!,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
