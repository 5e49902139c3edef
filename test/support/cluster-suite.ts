import { afterAll, beforeAll } from 'vitest';
import { type Cluster, startCluster } from './postgres.js';

/**
 * A PostgreSQL cluster for the suite it is called in (`describe`): started before its tests, stopped after.
 * Read it through the getter once the tests run.
 */
export function useCluster(): () => Cluster {
  let cluster: Cluster | undefined;
  beforeAll(async () => {
    cluster = await startCluster();
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  return () => {
    if (!cluster) throw new Error('The cluster is not started: read it inside a test.');
    return cluster;
  };
}
