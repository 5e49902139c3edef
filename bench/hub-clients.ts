/**
 * The clients of the hub benchmark, in their own process (so their parsing does not compete with the
 * hub's event loop): `hub-clients.ts <url> <token> <runId> <clients> <lastVersion>`. Prints one JSON line:
 * for each delivered commit, its version and the wall-clock time (ms, sub-ms precision) it arrived.
 */
import { WebSocket } from 'ws';

const [url, token, runId, n, last] = process.argv.slice(2) as [string, string, string, string, string];
const clients = Number(n);
const lastVersion = Number(last);
const now = () => performance.timeOrigin + performance.now();
const arrivals: [number, number][] = [];
let finished = 0;
let subscribed = 0;
const sockets: WebSocket[] = [];
await Promise.all(
  Array.from({ length: clients }, async () => {
    const ws = new WebSocket(url, ['hearsay.v1'], { headers: { authorization: `Bearer ${token}` } });
    sockets.push(ws);
    await new Promise((r) => ws.once('open', r));
    ws.on('message', (data) => {
      const t = now();
      // A light load generator: it reads the type and version off the frame's start instead of parsing
      // 100 copies of every message (the hub's frames put them first), so its own work does not queue.
      const text = data.toString();
      const type = /"type":"(\w+)"/.exec(text)?.[1];
      if (type === 'commit') {
        const version = Number(/"version":(\d+)/.exec(text)?.[1]);
        arrivals.push([version, t]);
        if (version === lastVersion && ++finished === clients) {
          for (const s of sockets) s.close();
          // A pipe is written asynchronously: exit once everything is out.
          process.stdout.write(`${JSON.stringify(arrivals)}\n`, () => process.exit(0));
        }
      } else if (type === 'ack' && ++subscribed === clients) process.stderr.write('subscribed\n');
    });
    ws.send(JSON.stringify({ v: 1, type: 'subscribe', id: 1, runs: [runId], filter: { types: ['commit'] } }));
  }),
);
