/**
 * `npm run example -- peer-to-peer`: three peers, no orchestrator; Bob and Carol run in a second process
 * that joins the hub over WebSockets with an agent token.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createRuntime, type LogEvent } from 'hearsay';
import { peerTeam } from './team.js';

const runtime = createRuntime(peerTeam);
const token = randomBytes(16).toString('hex');
const hub = await runtime.listen({
  tokens: { [token]: { roles: ['agent:bob', 'agent:carol'] } },
  log: () => {},
});
const other = spawn(
  process.execPath,
  ['--import', 'tsx', fileURLToPath(new URL('./peer.ts', import.meta.url)), hub.url, token],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
await new Promise<void>((resolve, reject) => {
  other.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
  other.once('exit', (code) => reject(new Error(`the peers' process exited (${code})`)));
});
console.log(`Peer-to-peer — alice here (pid ${process.pid}), bob and carol in pid ${other.pid}\n`);

const handle = await runtime.start({ topic: 'how to make agent teams trustworthy' });
handle.board.subscribe({ from: 1 }, (e: LogEvent) => {
  if (e.type === 'message' && e.topic === 'peer.chat') {
    const p = e.payload as { from: string; text: string };
    console.log(`  ${p.from.padEnd(6)} says: ${p.text}`);
  }
});
const result = await handle.result;
console.log('\nideas:');
for (const [key, idea] of result.board.ideas.entries())
  console.log(`  ${key.padEnd(6)} ${idea.status.padEnd(9)} votes: ${idea.votes.join(', ')}  — ${idea.text}`);
console.log(`\n${result.outcome}: ${result.reason} (${result.activations} activations)`);
other.kill();
await runtime.close();
