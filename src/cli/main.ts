#!/usr/bin/env node
/**
 * `hearsay` on the command line:
 *   hearsay replay <dir> <runId> [--at <version>]   a run's history from a FileStore, or its board at a version
 *   hearsay approve <dir> <requestId> --by <name> [--comment <text>]
 *   hearsay reject <dir> <requestId> --by <name> --reason <text>
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { FileStore, logFileOf, readLog, readSnapshots } from '../blackboard/index.js';
import { approvalsFrom, runOfRequest, TOPICS } from '../scheduler/index.js';
import { boardAt, describeEvent } from './replay.js';

const usage = `Usage:
  hearsay replay <dir> <runId> [--at <version>]
  hearsay approve <dir> <requestId> --by <name> [--comment <text>]
  hearsay reject <dir> <requestId> --by <name> --reason <text>`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      at: { type: 'string' },
      by: { type: 'string' },
      comment: { type: 'string' },
      reason: { type: 'string' },
    },
  });
  const [command, dir, id] = positionals;
  if (!command || !dir || !id) {
    console.error(usage);
    return 2;
  }
  if (command === 'replay') {
    // Read-only: the log and snapshots as they are on disk (a store would repair a torn tail).
    const { events } = readLog(await readFile(logFileOf(dir, id)));
    if (values.at !== undefined) {
      console.log(JSON.stringify(boardAt(await readSnapshots(dir, id), events, Number(values.at)), null, 2));
      return 0;
    }
    for (const e of events) console.log(describeEvent(e));
    return 0;
  }
  if (command === 'approve' || command === 'reject') {
    const by = values.by;
    if (!by || (command === 'reject' && !values.reason)) {
      console.error(usage);
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

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
