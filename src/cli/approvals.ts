import { connect, type HearsayClient } from '../client/client.js';
import type { PendingApprovalInfo } from '../protocol/index.js';
import type { DeclinedApproval } from '../scheduler/index.js';
import { CliError } from './load.js';

export const approvalsUsage = `Usage:
  hearsay approvals --hub <ws-url> [--token <t>] [--run <runId>]

Lists the approval requests waiting for an answer on a running hub (any token that may see the runs): each
request id, its agent, the action and its exact arguments, and the command that answers it.`;

/** How a waiting request reads on the terminal, with exactly how to answer it. */
export function describePending(p: PendingApprovalInfo, hubUrl: string | undefined): string {
  const what = `${p.agentId} asks to run ${p.action} ${JSON.stringify(p.args)}${p.summary ? ` (${p.summary})` : ''}`;
  const how = hubUrl
    ? `  approve: hearsay approve ${p.requestId} --hub ${hubUrl}\n  reject:  hearsay reject ${p.requestId} --hub ${hubUrl} --reason <why>`
    : '  no hub is listening (--no-inspect): nothing outside this process can answer it';
  return `approval needed ${p.requestId}: ${what}${p.escalated ? ' [escalated]' : ''}\n${how}`;
}

/** How a declined irreversible step reads on the terminal. */
export function describeDeclinedStep(d: DeclinedApproval): string {
  const why = d.why === 'timed_out' ? `timed out (${d.reason})` : `rejected by ${d.by}: ${d.reason}`;
  return `not done: ${d.action} ${JSON.stringify(d.args)} by ${d.agentId} (${d.requestId}) ${why}`;
}

/** The CLI's one connection to a hub: no reconnecting, and a failure is one line naming the hub. */
export function connectToHub(hub: string, token: string | undefined): Promise<HearsayClient> {
  return connect(hub, { ...(token ? { token } : {}), reconnect: false, name: 'hearsay-cli' }).catch(
    (error: unknown) => {
      throw new CliError(
        `Could not connect to ${hub}: ${error instanceof Error ? error.message : String(error)}`,
      );
    },
  );
}

/** `hearsay approvals --hub <url>`: the requests waiting on a running hub. */
export async function approvalsCommand(values: {
  hub?: string | undefined;
  token?: string | undefined;
  run?: string | undefined;
}): Promise<number> {
  if (!values.hub) throw new CliError(`hearsay approvals: which hub? (--hub <ws-url>)`, 2);
  const client = await connectToHub(values.hub, values.token);
  try {
    const pending = await client.pendingApprovals(values.run);
    if (pending.length === 0) console.log('No approval requests are waiting.');
    for (const p of pending) console.log(describePending(p, values.hub));
    return 0;
  } finally {
    client.close();
  }
}
