import { describe, expect, it } from 'vitest';
import { type AdmissionInput, admit, quiescentOutcome, shallower } from '../../src/scheduler/index.js';

const base: AdmissionInput = {
  agentId: 'a',
  vetoed: false,
  breakerOpen: false,
  depth: 2,
  limits: { depth: 5, concurrency: 4, maxActivations: 100 },
  activations: 10,
  inflight: 1,
  running: 0,
  concurrency: 1,
};

describe('admission', () => {
  it.each<[string, Partial<AdmissionInput>, string | undefined]>([
    ['an ordinary candidate', {}, undefined],
    ['at the depth limit', { depth: 5 }, undefined],
    ['one past the depth limit', { depth: 6 }, 'depth'],
    ['a vetoed agent, before anything else', { vetoed: true, depth: 9, breakerOpen: true }, 'vetoed'],
    ['an open breaker, before depth', { breakerOpen: true, depth: 9 }, 'breaker'],
    ['the run at its activation limit', { activations: 100 }, 'activation_limit'],
    ['the run at its concurrency limit', { inflight: 4 }, 'concurrency'],
    ['the agent at its own concurrency', { running: 1 }, 'concurrency'],
    ['a pool with room', { running: 2, concurrency: 3 }, undefined],
  ])('%s → %s', (_name, over, expected) => {
    expect(admit({ ...base, ...over })?.reason).toBe(expected);
  });

  it('explains each refusal', () => {
    expect(admit({ ...base, depth: 6 })?.detail).toBe('depth 6 exceeds the limit of 5');
    expect(admit({ ...base, inflight: 4 })?.detail).toBe('4 in flight (run limit 4), 0 of a (limit 1)');
  });

  it('keeps the shallower of two causes, and the newer on a tie', () => {
    const e = (seq: number, depth: number) => ({ seq, version: seq, paths: [], depth });
    expect(shallower(e(1, 1), e(2, 2)).seq).toBe(1);
    expect(shallower(e(1, 2), e(2, 1)).seq).toBe(2);
    expect(shallower(e(1, 1), e(2, 1)).seq).toBe(2);
    expect(shallower(undefined, e(3, 4)).seq).toBe(3);
  });
});

describe('the outcome of a run that cannot advance', () => {
  const facts = {
    refusedFor: undefined,
    depthLimit: 5,
    maxActivations: 100,
    failures: [],
    hasGoal: false,
  } as const;
  it.each<[string, object, string]>([
    ['nothing special', {}, 'quiescent'],
    ['a depth refusal', { refusedFor: 'depth', failures: [{ agentId: 'x', error: 'e' }] }, 'depth_exceeded'],
    ['a budget refusal', { refusedFor: 'budget' }, 'budget_exceeded'],
    ['an activation-limit refusal', { refusedFor: 'activation_limit' }, 'activation_limit'],
    ['an unrecovered failure', { failures: [{ agentId: 'x', error: 'boom' }] }, 'failed'],
  ])('%s → %s', (_name, over, outcome) => {
    expect(quiescentOutcome({ ...facts, ...over }).outcome).toBe(outcome);
  });

  it('says whether a goal was missed, and lists failures', () => {
    expect(quiescentOutcome({ ...facts, hasGoal: true }).reason).toBe(
      'nothing can advance and the goal was not reached',
    );
    expect(quiescentOutcome({ ...facts, failures: [{ agentId: 'x', error: 'boom' }] }).reason).toContain(
      'x: boom',
    );
  });
});
