import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The folder of PostgreSQL's server binaries (`PG_BIN`, Debian's /usr/lib/postgresql/<n>/bin, or PATH). */
export function postgresBin(): string | undefined {
  const configured = process.env.PG_BIN;
  if (configured) return existsSync(join(configured, 'initdb')) ? configured : undefined;
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => existsSync(join(debian, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(debian, versions[0], 'bin');
  }
  for (const dir of (process.env.PATH ?? '').split(':'))
    if (dir && existsSync(join(dir, 'initdb'))) return dir;
  return undefined;
}

/**
 * Whether PostgreSQL suites run here. Without the server binaries they are skipped with a printed reason;
 * under `CI=true` a missing PostgreSQL is a failure (CI installs Debian's `postgresql`).
 */
export function postgresAvailable(suite: string): boolean {
  if (postgresBin()) return true;
  if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false')
    throw new Error(
      `${suite}: no PostgreSQL server binaries found (apt-get install -y postgresql, or set PG_BIN); CI requires them.`,
    );
  console.warn(
    `${suite}: skipped — no PostgreSQL on this machine (apt-get install -y postgresql, or set PG_BIN).`,
  );
  return false;
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** A throwaway PostgreSQL cluster on a free loopback port (fsync off), removed by `stop`. */
export interface Cluster {
  readonly connectionString: string;
  readonly port: number;
  /**
   * Stops the server and starts it again: by default at once (`-m immediate`: no shutdown checkpoint, like a
   * crash); with `mode: 'fast'` as `pg_ctl restart -m fast` does (sessions are terminated, a checkpoint is
   * written), staying down `downMs` in between. A fast restart runs the tools without blocking this process.
   */
  restart(options?: { readonly mode?: 'immediate' | 'fast'; readonly downMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a cluster with `initdb` into a temporary folder and `pg_ctl` on a free loopback port. As root
 * (PostgreSQL refuses to run as root) both run as the `postgres` user, who then owns the folder.
 */
export async function startCluster(): Promise<Cluster> {
  const bin = postgresBin()!;
  const dir = mkdtempSync(join(tmpdir(), 'hearsay-pg-'));
  const asRoot = process.getuid?.() === 0;
  const run = (tool: string, args: string[]) => {
    const cmd = join(bin, tool);
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
    execFileSync(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  };
  const runAsync = (tool: string, args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const cmd = join(bin, tool);
      const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
      execFile(file, argv, (error) => (error ? reject(error) : resolve()));
    });
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200`;
  const startArgs = [
    '-D',
    data,
    '-o',
    serverOptions,
    '-l',
    join(dir, 'server.log'),
    '-w',
    '-t',
    '60',
    'start',
  ];
  const start = () => run('pg_ctl', startArgs);
  start();
  return {
    port,
    async restart(options = {}) {
      if (options.mode !== 'fast') {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
        start();
        return;
      }
      await runAsync('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      await new Promise((r) => setTimeout(r, options.downMs ?? 0));
      await runAsync('pg_ctl', startArgs);
    },
    connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
      }
    },
  };
}
