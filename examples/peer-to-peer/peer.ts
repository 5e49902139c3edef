/** The other process of the peer-to-peer example: hosts Bob and Carol, connected to the hub with a token. */
import { connect, hostAgents } from 'hearsay/client';
import { PeerBoard, peers } from './team.js';

const [url, token] = process.argv.slice(2) as [string, string];
const client = await connect(url, { token, name: `peers-${process.pid}` });
await hostAgents({ client, schema: PeerBoard, agents: peers.filter((p) => p.id !== 'alice') });
process.stdout.write('ready\n');
