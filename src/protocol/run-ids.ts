/**
 * Child run ids: `<parentRunId>/<team>.<8 hex>`. The runtime makes them and routes runs by them; the
 * inspector shows each child under its parent. One module, so both read the same format.
 */
const CHILD_SEGMENT = /\/([\w-]+)\.[0-9a-f]{8}(?=\/|$)/g;

/** The id of a child run of `team` started from `parentRunId`; `digest` is at least 8 hex digits. */
export const childRunId = (parentRunId: string, team: string, digest: string): string =>
  `${parentRunId}/${team}.${digest.slice(0, 8)}`;

/** The team of a child run (its last segment), or undefined for a run that is not one. */
export function childRunTeam(runId: string): string | undefined {
  return /\/([\w-]+)\.[0-9a-f]{8}$/.exec(runId)?.[1];
}

/** How many levels below a top-level run a run is (0 for a top-level run). */
export const childRunDepth = (runId: string): number => runId.match(CHILD_SEGMENT)?.length ?? 0;

/** The run a child run was started from (its id without the last segment), or undefined for a top-level run. */
export function parentRunId(runId: string): string | undefined {
  return childRunTeam(runId) === undefined ? undefined : runId.slice(0, runId.lastIndexOf('/'));
}
