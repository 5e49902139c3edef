import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe } from 'vitest';
import { FileStore } from '../../src/blackboard/stores/file-store.js';
import { describeStoreConformance } from './store-conformance.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true, maxRetries: 5 })));
});

describe('FileStore', () => {
  // fsync 'never' keeps the property runs fast; durability itself is tested with 'always' in file-store-recovery.
  describeStoreConformance(
    'FileStore',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'hearsay-fs-'));
      dirs.push(dir);
      return { store: new FileStore({ dir, fsync: 'never' }) };
    },
    300,
  );
});
