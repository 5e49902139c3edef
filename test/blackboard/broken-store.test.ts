import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/index.js';
import {
  conflictRuleProperty,
  linearizabilityProperty,
  serializabilityProperty,
} from './support/properties.js';

/** Loses updates: accepts every commit, however stale (last writer wins). */
class LostUpdateStore extends MemoryStore {
  protected override findConflict(): undefined {
    return undefined;
  }
}

const broken = async () => ({ store: new LostUpdateStore() });

describe('the property tests catch a store that loses updates', () => {
  it('the serializability property fails', async () => {
    const result = await fc.check(serializabilityProperty(broken), { numRuns: 300 });
    expect(result.failed).toBe(true);
    expect(String(result.errorInstance)).toMatch(/lost update|differs|without/);
  });

  it('the linearizability property fails', async () => {
    const result = await fc.check(linearizabilityProperty(broken), { numRuns: 300 });
    expect(result.failed).toBe(true);
    expect(String(result.errorInstance)).toMatch(/Not linearizable/);
  });

  it('the conflict-rule property fails', async () => {
    const result = await fc.check(conflictRuleProperty(broken), { numRuns: 100 });
    expect(result.failed).toBe(true);
  });
});
