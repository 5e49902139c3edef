#!/usr/bin/env node
/**
 * `hearsay` on the command line:
 *   hearsay replay <dir> <runId> [--at <version>]   a run's history from a FileStore, or its board at a version
 *   hearsay approve <dir> <requestId> --by <name> [--comment <text>]
 *   hearsay reject <dir> <requestId> --by <name> --reason <text>
 *   hearsay inspect <ws://host:port/hearsay> [--port <n>] [--no-open]   the inspector page for any hub
 *   hearsay run <workflow>   runs a workflow module with a progress line and the inspector
 *   hearsay approvals --hub <ws-url>   the approval requests waiting on a running hub
 *   hearsay eval <suite>     runs an eval suite (or --from-log turns a recorded run into a case)
 *   hearsay --version        the installed package's version
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { FileStore, logFileOf, readLog, readSnapshots } from '../blackboard/index.js';
import { inspectorBundleDir, inspectorHandler } from '../inspector/index.js';
import { approvalsFrom, runOfRequest, TOPICS } from '../scheduler/index.js';
import { approvalsCommand, approvalsUsage, connectToHub } from './approvals.js';
import { evalCommand, evalUsage } from './eval.js';
import { CliError } from './load.js';
import { portOption } from './port-option.js';
import { boardAt, describeEvent } from './replay.js';
import { runCommand, runUsage } from './run.js';
import { packageVersion } from './version.js';

const commands = {
  run: `hearsay run <workflow> [--input <json>] [--port <n>] [--no-inspect] [--keep] [--allow-rejected]`,
  approvals: `hearsay approvals --hub <ws-url> [--token <t>] [--run <runId>]`,
  inspect: `hearsay inspect <ws://host:port/hearsay> [--port <n>] [--no-open]`,
  replay: `hearsay replay <dir> <runId> | <run.log> [--at <version>]`,
  approve: `hearsay approve <requestId> --hub <ws-url> [--token <t>] [--comment <text>]  |  <dir> <requestId> --by <name>`,
  reject: `hearsay reject <requestId> --hub <ws-url> [--token <t>] --reason <text>  |  <dir> <requestId> --by <name>`,
  eval: `hearsay eval <suite> [--repeat n] [--concurrency n] [--json out] [--baseline report.json]  |  --from-log <dir> <runId> --into <dir>`,
} as const;

const usage = `Usage:
${Object.values(commands)
  .map((c) => `  ${c}`)
  .join('\n')}

hearsay <command> --help describes one command; hearsay --version (-v) prints the version.`;

const helps: Record<string, string> = {
  run: runUsage,
  approvals: approvalsUsage,
  eval: evalUsage,
  inspect: `Usage:
  ${commands.inspect}

Serves the inspector page on loopback against the hub at that address and opens it in a browser
(--no-open only prints its address). Add #token=<token> to the page's address when the hub needs one.`,
  replay: `Usage:
  ${commands.replay}

Prints a run's history from a FileStore folder, or from its log file (commits, scheduler decisions,
approvals, outcome), or with --at the board at that version, as JSON.`,
  approve: `Usage:
  ${commands.approve}

With --hub: answers a pending request through a running hub (an operator token; the hub records the
token's name as who answered, and a run that paused for it goes on). With a FileStore folder: writes the
answer on a stopped run's log; resume the run to continue it.`,
  reject: `Usage:
  ${commands.reject}

With --hub: rejects a pending request through a running hub (an operator token). With a FileStore folder:
writes the rejection on a stopped run's log; resume the run to continue it.`,
};

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      at: { type: 'string' },
      by: { type: 'string' },
      comment: { type: 'string' },
      reason: { type: 'string' },
      port: { type: 'string' },
      'no-open': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
      input: { type: 'string' },
      'no-inspect': { type: 'boolean' },
      keep: { type: 'boolean' },
      'allow-rejected': { type: 'boolean' },
      run: { type: 'string' },
      repeat: { type: 'string' },
      concurrency: { type: 'string' },
      only: { type: 'string' },
      json: { type: 'string' },
      baseline: { type: 'string' },
      threshold: { type: 'string' },
      'cost-threshold': { type: 'string' },
      'from-log': { type: 'boolean' },
      into: { type: 'string' },
      id: { type: 'string' },
      hub: { type: 'string' },
      token: { type: 'string' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.version) {
    console.log(packageVersion());
    return 0;
  }
  if (values.help || command === 'help') {
    const topic = command === 'help' ? rest[0] : command;
    console.log(topic && helps[topic] ? helps[topic] : usage);
    return 0;
  }
  if (!command) {
    console.error(usage);
    return 2;
  }
  if (!Object.hasOwn(commands, command))
    throw new CliError(`Unknown command "${command}". Commands: ${Object.keys(commands).join(', ')}.`, 2);
  if (values.port !== undefined) portOption(values.port);
  if (command === 'run') return runCommand(rest, values);
  if (command === 'approvals') return approvalsCommand(values);
  if (command === 'eval') return evalCommand(rest, values);
  if (command === 'inspect') return inspect(rest[0], values.port, !values['no-open']);
  if ((command === 'approve' || command === 'reject') && values.hub !== undefined)
    return answerThroughHub(command, rest[0], values);
  // `hearsay replay path/to/<runId>.log`: the folder and the run from the file's name.
  const [dir, id] =
    command === 'replay' && rest.length === 1 && rest[0]!.endsWith('.log')
      ? [dirname(rest[0]!), decodeURIComponent(basename(rest[0]!, '.log'))]
      : rest;
  if (!dir || !id) {
    console.error(`Usage: ${commands[command as keyof typeof commands]}`);
    return 2;
  }
  if (command === 'replay') {
    // Read-only: the log and snapshots as they are on disk (a store would repair a torn tail).
    const log = await readFile(logFileOf(dir, id)).catch(() => {
      throw new CliError(`No run ${id} in ${dir}.`);
    });
    const { events } = readLog(log);
    if (values.at !== undefined) {
      const snapshots = await readSnapshots(dir, id);
      const head = Math.max(
        0,
        ...snapshots.map((s) => s.version),
        ...events.map((e) => (e.type === 'commit' ? e.version : 0)),
      );
      if (!/^\d+$/.test(values.at) || Number(values.at) > head)
        throw new CliError(`--at takes a board version from 0 to ${head}; got "${values.at}".`, 2);
      console.log(JSON.stringify(boardAt(snapshots, events, Number(values.at)), null, 2));
      return 0;
    }
    for (const e of events) console.log(describeEvent(e));
    return 0;
  }
  if (command === 'approve' || command === 'reject') {
    const by = values.by;
    if (!by || (command === 'reject' && !values.reason)) {
      console.error(`Usage: ${commands[command]}`);
      return 2;
    }
    const runId = runOfRequest(id);
    if (!runId) {
      console.error(`"${id}" is not an approval request id.`);
      return 2;
    }
    const store = new FileStore({ dir });
    if (!(await store.listRuns()).includes(runId)) {
      console.error(`No run ${runId} in ${dir}.`);
      return 1;
    }
    const opened = await store.openRun(runId, null);
    const rec = approvalsFrom(await store.read(runId, 1, opened.head.seq)).get(id);
    if (!rec) {
      console.error(`No request ${id} in run ${runId}.`);
      return 1;
    }
    if (rec.answer) {
      console.error(`Request ${id} was already answered: ${JSON.stringify(rec.answer)}`);
      return 1;
    }
    const decision =
      command === 'approve'
        ? {
            approved: true,
            by,
            ...(values.comment ? { comment: values.comment } : {}),
            requestId: id,
            argsHash: rec.argsHash,
          }
        : { approved: false, by, reason: values.reason!, requestId: id, argsHash: rec.argsHash };
    await store.append(runId, {
      topic: TOPICS.approval,
      payload: { phase: 'answered', requestId: id, decision },
      author: 'operator',
      time: Date.now(),
    });
    console.log(`${command === 'approve' ? 'Approved' : 'Rejected'} ${id}. Resume the run to continue it.`);
    return 0;
  }
  console.error(usage);
  return 2;
}

/** Answers an approval request through a running hub, as the operator the token names. */
async function answerThroughHub(
  command: 'approve' | 'reject',
  requestId: string | undefined,
  values: {
    hub?: string | undefined;
    token?: string | undefined;
    comment?: string | undefined;
    reason?: string | undefined;
  },
): Promise<number> {
  if (!requestId) throw new CliError(`Usage: ${commands[command]}`, 2);
  if (command === 'reject' && !values.reason)
    throw new CliError('hearsay reject: say why with --reason <text>.', 2);
  const client = await connectToHub(values.hub!, values.token);
  try {
    const result =
      command === 'approve'
        ? await client.approve(requestId, values.comment)
        : await client.reject(requestId, values.reason!);
    if (result !== 'answered') throw new CliError(`${requestId}: ${result.replace('_', ' ')}.`);
    console.log(`${command === 'approve' ? 'Approved' : 'Rejected'} ${requestId}.`);
    return 0;
  } finally {
    client.close();
  }
}

/** Serves the inspector page on loopback against the hub at `url`, and opens it; runs until interrupted. */
async function inspect(url: string | undefined, port: string | undefined, open: boolean): Promise<number> {
  if (!url || !/^wss?:\/\/[^/]+/.test(url)) {
    console.error('hearsay inspect: give the hub address, e.g. ws://127.0.0.1:7400/hearsay');
    return 2;
  }
  if (!inspectorBundleDir()) {
    console.error('hearsay inspect: the inspector bundle is not built (run `npm run build`).');
    return 1;
  }
  const handler = inspectorHandler({ hubUrl: url });
  const server = createServer((req, res) => {
    if (!handler(req, res)) res.writeHead(404).end();
  });
  server.listen(port === undefined ? 0 : Number(port), '127.0.0.1');
  await once(server, 'listening');
  const page = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  console.log(`Inspector for ${url}: ${page}  (add #token=<token> when the hub needs one; Ctrl-C stops)`);
  if (open) openBrowser(page);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  server.close();
  return 0;
}

/** Opens `url` in the desktop's browser, if there is one (a failure only means there is none). */
function openBrowser(url: string): void {
  const [cmd, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '', url]]
        : ['xdg-open', [url]];
  const child = spawn(cmd, args as string[], { stdio: 'ignore', detached: true });
  child.on('error', () => console.log(`Open ${url} in a browser.`));
  child.unref();
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // One line, never a stack trace: bad usage exits 2, a failed command 1.
    const usageError =
      (error instanceof CliError && error.code === 2) ||
      (error as { code?: string }).code?.startsWith?.('ERR_PARSE_ARGS') === true;
    console.error(`hearsay: ${error instanceof Error ? error.message : String(error)}`.split('\n')[0]);
    process.exit(usageError ? 2 : error instanceof CliError ? error.code : 1);
  },
);
