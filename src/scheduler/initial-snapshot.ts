import { type AnyMachineSnapshot, type AnyStateMachine, getInitialSnapshot } from 'xstate';
import { type BoardEvent, containedMachine } from '../actors/index.js';

const initialSnapshots = new WeakMap<AnyStateMachine, AnyMachineSnapshot>();

/**
 * `can` on a machine's initial snapshot, computed once per machine: no actor is created and no action
 * runs, so an agent that never activates costs nothing but its guards.
 */
export function canFromInitial(machine: AnyStateMachine, event: BoardEvent<unknown>): boolean {
  let snapshot = initialSnapshots.get(machine);
  if (!snapshot) {
    // Contained: a guard that returns a promise throws here (and counts as able) instead of rejecting unheard.
    snapshot = getInitialSnapshot(containedMachine(machine)) as AnyMachineSnapshot;
    initialSnapshots.set(machine, snapshot);
  }
  // A machine that cannot even start (its `context` factory threw) counts as able: its first activation
  // starts it, fails, and is recorded (the retry and fallback policy apply), instead of never running.
  if (snapshot.status === 'error') return true;
  return snapshot.status === 'active' && snapshot.can(event as never);
}
