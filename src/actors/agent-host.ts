import {
  type Actor,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  createActor,
  type Snapshot,
  transition,
} from 'xstate';
import type { Clock } from '../blackboard/clock.js';
import { type AgentRequest, isAgentRequest } from './actions.js';
import type { ApprovalRejectedEvent, BoardEvent, RuntimeEvent } from './board-event.js';
import { containedMachine, containWithin } from './contained-machine.js';

/** How one step of an agent's machine ended. */
export type StepOutcome =
  | { readonly status: 'settled' }
  | { readonly status: 'done'; readonly output: unknown }
  | { readonly status: 'failed'; readonly error: unknown }
  | { readonly status: 'aborted' };

export interface AgentHostOptions {
  readonly machine: AnyStateMachine;
  readonly input?: unknown;
  /** A persisted snapshot to resume from (`getPersistedSnapshot` of an earlier actor). */
  readonly snapshot?: Snapshot<unknown>;
  /** Timers for XState's delayed transitions. */
  readonly clock?: Pick<Clock, 'setTimeout' | 'clearTimeout'>;
  /** Performs a request the machine emitted; may answer with an event for the machine. */
  readonly onRequest: (request: AgentRequest) => Promise<RuntimeEvent | undefined> | undefined;
  /** Called on every change of state value, with the event that caused it. */
  readonly onTransition?: (from: string, to: string, eventType: string) => void;
  /**
   * Called when the machine fails while no step runs (a delayed transition's action threw or rejected).
   * Returning true takes the failure (the caller records it); otherwise it fails the next step.
   */
  readonly onIdleFailure?: (error: unknown) => boolean;
}

/** Answers about a machine's definition, computed once per machine and question (per kind, by name). */
const facts = new WeakMap<AnyStateMachine, { tag: Map<string, boolean>; event: Map<string, boolean> }>();

function fact(
  machine: AnyStateMachine,
  kind: 'tag' | 'event',
  name: string,
  answer: (machine: AnyStateMachine, name: string) => boolean,
): boolean {
  let known = facts.get(machine);
  if (!known) {
    known = { tag: new Map(), event: new Map() };
    facts.set(machine, known);
  }
  const answers = known[kind];
  let found = answers.get(name);
  if (found === undefined) {
    found = answer(machine, name);
    answers.set(name, found);
  }
  return found;
}

type StateNodeShape = { tags?: readonly string[]; states?: Record<string, unknown> };

/** Whether any state of `machine` carries `tag` (walked once per machine and tag). */
function hasTag(machine: AnyStateMachine, tag: string): boolean {
  return fact(machine, 'tag', tag, anyStateTagged);
}

function anyStateTagged(machine: AnyStateMachine, tag: string): boolean {
  const visit = (node: StateNodeShape): boolean =>
    (node.tags ?? []).includes(tag) ||
    Object.values(node.states ?? {}).some((child) => visit(child as StateNodeShape));
  return visit(machine.root as unknown as StateNodeShape);
}

/**
 * The state carrying `tag` that `event` would take `machine` into from `now` (computed purely, nothing
 * runs), unless `now` carries the tag already.
 */
export function taggedTarget(
  machine: AnyStateMachine,
  now: AnyMachineSnapshot,
  event: { readonly type: string },
  tag: string,
): string | undefined {
  // Most machines tag nothing: they pay nothing for the check.
  if (!hasTag(machine, tag)) return undefined;
  if (now.hasTag(tag)) return undefined;
  const [next] = transition(machine, now as never, event as never) as unknown as [AnyMachineSnapshot];
  return next.hasTag(tag) ? stateName(next.value) : undefined;
}

export const stateName = (value: unknown): string =>
  typeof value === 'string' ? value : JSON.stringify(value);

/**
 * Whether any state of `machine` has a transition on events of `type` (its own, a wildcard, or a partial
 * descriptor such as `hearsay.*`), from the machine's event list, once per machine and type. A machine
 * that handles no reply is not asked `can` on every reply it gets.
 */
function mayHandle(machine: AnyStateMachine, type: string): boolean {
  return fact(machine, 'event', type, anyTransitionOn);
}

function anyTransitionOn(machine: AnyStateMachine, type: string): boolean {
  return (machine.events as readonly string[]).some((descriptor) => matchesDescriptor(type, descriptor));
}

/**
 * XState's rule for event descriptors: the type itself, `*`, or a partial descriptor `a.*` (which matches
 * `a`, `a.b` and `a.b.c`, but not `ab`).
 */
function matchesDescriptor(type: string, descriptor: string): boolean {
  if (descriptor === type || descriptor === '*') return true;
  if (!descriptor.endsWith('.*')) return false;
  const partial = descriptor.split('.');
  const tokens = type.split('.');
  for (let i = 0; i < partial.length; i++) {
    if (partial[i] === '*') return i === partial.length - 1;
    if (partial[i] !== tokens[i]) return false;
  }
  return true;
}

/**
 * `machine`, telling `note` the type of every event the actor takes before it transitions on it. This is
 * how a host knows which event moved its machine: an `inspect` observer would tell it too, but makes
 * XState build an inspection event for every event, snapshot, microstep and action of the actor and its
 * children (a third of an activation's cost in the fan-out benchmark).
 */
function noting(machine: AnyStateMachine): AnyStateMachine {
  let known = notingMachines.get(machine);
  if (known) return known;
  // One per machine (not per actor): the actor that transitions is told apart by its scope's `self`.
  known = Object.create(machine, {
    transition: {
      value: (snapshot: never, event: { type: string }, scope: { self: object }) => {
        notes.get(scope.self)?.(event.type);
        return machine.transition(snapshot, event as never, scope as never);
      },
    },
  }) as AnyStateMachine;
  notingMachines.set(machine, known);
  return known;
}

const notingMachines = new WeakMap<AnyStateMachine, AnyStateMachine>();
/** Who is told of each event an actor takes, by actor. */
const notes = new WeakMap<object, (eventType: string) => void>();

/**
 * What the scheduler drives one agent's actor through. {@link AgentHost} runs the machine in this
 * process; a remote host runs it in another process over the hub, with the same contract.
 */
export interface StepHost {
  /** Starts the actor (its entry actions run now). Returns a failure if starting threw. */
  start(): StepOutcome;
  /** The machine's status: `active`, `done`, `error` or `stopped`. */
  readonly status: string;
  /** Whether the machine would take a transition on `event`. Throws if a guard throws. */
  can(event: BoardEvent): boolean;
  /** Whether the machine, as it stands, handles a runtime event (a refusal, a rejection). */
  accepts(event: { readonly type: string }): boolean;
  /** The state tagged `tag` that `event` would enter, if the machine is not in one already. */
  entersTagged(event: BoardEvent, tag: string): string | undefined;
  /** Sends `event` and resolves when the machine settles, fails, finishes, or `signal` aborts. */
  step(event: BoardEvent | RuntimeEvent | ApprovalRejectedEvent, signal: AbortSignal): Promise<StepOutcome>;
  /** The actor's current snapshot. */
  snapshot(): AnyMachineSnapshot;
  /** The actor's persisted snapshot (for resuming). */
  persisted(): Snapshot<unknown>;
  stop(): void;
}

/**
 * Runs one XState actor for the runtime. It subscribes to every actor it runs, so an agent that throws
 * in an entry action, an action, a guard or an invoked actor fails its own step and never takes the
 * process down. A step ends when the machine settles: it reached a final state, or it has no invoked
 * actor running and no request of its in flight.
 */
export class AgentHost implements StepHost {
  readonly actor: Actor<AnyStateMachine>;
  private pending = 0;
  private settle: ((outcome: StepOutcome) => void) | undefined;
  private failure: { error: unknown } | undefined;
  private lastValue: string;

  private readonly machine: AnyStateMachine;
  private readonly onIdleFailure: ((error: unknown) => boolean) | undefined;
  /** Whether the actor's error status was already handed to `onIdleFailure`. */
  private idleErrorTaken = false;

  constructor(options: AgentHostOptions) {
    this.onIdleFailure = options.onIdleFailure;
    // Nothing the machine does may escape its step: async actions, guards and child actors are contained.
    this.machine = containedMachine(options.machine);
    let lastEvent = 'xstate.init';
    this.actor = createActor(noting(this.machine), {
      ...(options.input === undefined ? {} : { input: options.input }),
      ...(options.snapshot === undefined ? {} : { snapshot: options.snapshot }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
    notes.set(this.actor, (type) => {
      lastEvent = type;
    });
    this.lastValue = '';
    containWithin(this.actor.system, {
      track: (work) => this.track(work),
      fail: (error) => {
        this.failure ??= { error };
        this.check();
      },
    });
    this.actor.subscribe({
      next: (snap) => {
        const value = stateName(snap.value);
        if (value !== this.lastValue) {
          const from = this.lastValue;
          this.lastValue = value;
          if (from !== '') options.onTransition?.(from, value, lastEvent);
        }
        this.check();
      },
      error: (error) => {
        this.failure = { error };
        this.check();
      },
    });
    this.actor.on('*', (event) => {
      if (!isAgentRequest(event)) return;
      let work: Promise<RuntimeEvent | undefined> | undefined;
      try {
        work = options.onRequest(event);
      } catch (error) {
        this.failure ??= { error };
        this.check();
        return;
      }
      if (!work) return;
      this.track(work, (reply) => {
        // Only a machine that handles the reply gets it: an ignored event still costs a macrostep.
        const snap = this.actor.getSnapshot();
        if (
          reply &&
          snap.status === 'active' &&
          mayHandle(this.machine, reply.type) &&
          snap.can(reply as never)
        )
          this.actor.send(reply);
      });
    });
  }

  /**
   * Work the machine started (a request, a promise an action returned): the step waits for it, and a
   * rejection fails the step (or, between steps, the next one) instead of going unhandled.
   */
  private track<T>(work: PromiseLike<T>, then?: (value: T) => void): void {
    this.pending += 1;
    work.then(
      (value) => {
        this.pending -= 1;
        try {
          then?.(value);
        } catch (error) {
          this.failure ??= { error };
        }
        this.check();
      },
      (error: unknown) => {
        this.pending -= 1;
        this.failure ??= { error };
        this.check();
      },
    );
  }

  /** Starts the actor (its entry actions run now). Returns a failure if starting threw. */
  start(): StepOutcome {
    this.actor.start();
    this.lastValue = stateName(this.actor.getSnapshot().value);
    const failure = this.failure;
    this.failure = undefined;
    if (failure) return { status: 'failed', error: failure.error };
    return { status: 'settled' };
  }

  /** The machine's status: `active`, `done`, `error` or `stopped`. */
  get status(): string {
    return this.actor.getSnapshot().status;
  }

  /** Whether the machine would take a transition on `event`. Throws if a guard throws. */
  can(event: BoardEvent): boolean {
    const snap = this.actor.getSnapshot();
    return snap.status === 'active' && snap.can(event as never);
  }

  accepts(event: { readonly type: string }): boolean {
    const snap = this.actor.getSnapshot();
    return snap.status === 'active' && mayHandle(this.machine, event.type) && snap.can(event as never);
  }

  /**
   * The state carrying `tag` that `event` would enter (computed without running anything), if the
   * machine is not in such a state already. How the runtime finds states marked `irreversible`.
   */
  entersTagged(event: BoardEvent, tag: string): string | undefined {
    return taggedTarget(this.machine, this.actor.getSnapshot() as AnyMachineSnapshot, event, tag);
  }

  /** Sends `event` and resolves when the machine settles, fails, finishes, or `signal` aborts. */
  step(event: BoardEvent | RuntimeEvent | ApprovalRejectedEvent, signal: AbortSignal): Promise<StepOutcome> {
    return new Promise<StepOutcome>((resolve) => {
      const onAbort = () => {
        this.settle = undefined;
        this.actor.stop();
        resolve({ status: 'aborted' });
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.settle = (outcome) => {
        signal.removeEventListener('abort', onAbort);
        this.settle = undefined;
        resolve(outcome);
      };
      // A failure since the last step (a delayed action's promise, say) fails this one: it is not dropped.
      this.actor.send(event as never);
      this.check();
    });
  }

  /** The actor's current snapshot (immutable; `machine.getPersistedSnapshot(it)` gives the persisted form). */
  snapshot(): AnyMachineSnapshot {
    return this.actor.getSnapshot() as AnyMachineSnapshot;
  }

  /** The actor's persisted snapshot (for resuming). */
  persisted(): Snapshot<unknown> {
    return this.actor.getPersistedSnapshot();
  }

  stop(): void {
    this.actor.stop();
  }

  private check(): void {
    if (!this.settle) {
      this.checkIdle();
      return;
    }
    const snap = this.actor.getSnapshot();
    if (this.failure || snap.status === 'error') {
      const error = this.failure ? this.failure.error : snap.error;
      this.failure = undefined;
      // The state a failed step reached is not one to go on from: the actor stops, and the next attempt
      // starts again from the last good snapshot (as after an error XState caught itself).
      if (snap.status === 'active') this.actor.stop();
      this.settle({ status: 'failed', error });
    } else if (snap.status === 'done') {
      if (this.pending === 0) this.settle({ status: 'done', output: snap.output });
    } else if (this.pending === 0 && Object.keys(snap.children).length === 0) {
      this.settle({ status: 'settled' });
    }
  }

  /** A failure while no step runs goes to `onIdleFailure`, once; if not taken, it fails the next step. */
  private checkIdle(): void {
    if (!this.onIdleFailure) return;
    const snap = this.actor.getSnapshot();
    const errored = snap.status === 'error' && !this.idleErrorTaken;
    if (!this.failure && !errored) return;
    const error = this.failure ? this.failure.error : snap.error;
    if (!this.onIdleFailure(error)) return;
    this.failure = undefined;
    if (snap.status === 'error') this.idleErrorTaken = true;
  }
}
