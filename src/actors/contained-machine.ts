import { type AnyActorLogic, type AnyStateMachine, createMachine, fromCallback } from 'xstate';

/**
 * Where the asynchronous failures of one actor system go: the host that runs its root actor. XState runs
 * an action and drops what it returns, calls a callback actor and keeps what it returns as its cleanup,
 * and stores what a transition actor's reducer returns as its state: a promise in any of these places
 * would reject with nobody listening, and an unhandled rejection ends a Node process.
 */
export interface Containment {
  /** Work an action started (its promise): the step waits for it, and fails if it rejects. */
  track(work: PromiseLike<unknown>): void;
  /** A failure of something that runs alongside the step (a callback actor's promise). */
  fail(error: unknown): void;
}

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  (typeof value === 'object' || typeof value === 'function') &&
  value !== null &&
  typeof (value as { then?: unknown }).then === 'function';

const ignore = (): void => {};

/** Marks a promise as handled (its rejection is seen elsewhere) and returns it unchanged. */
export function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(ignore);
  return promise;
}

const containments = new WeakMap<object, Containment>();

/** Sends the asynchronous failures of the actor system of `actor` (root and children) to `containment`. */
export function containWithin(system: object, containment: Containment): void {
  containments.set(system, containment);
}

function trackIn(system: object, work: PromiseLike<unknown>): void {
  const containment = containments.get(system);
  if (containment) containment.track(work);
  // No host listens (a machine run by hand): the rejection is still not left unhandled.
  else void Promise.resolve(work).catch(ignore);
}

function failIn(system: object, work: PromiseLike<unknown>): void {
  Promise.resolve(work).then(ignore, (error: unknown) => containments.get(system)?.fail(error));
}

/** What XState hands an actor's logic: the parts of its scope this file touches. */
interface Scope {
  system: { _sendInspectionEvent: (event: { type: string; actorRef?: unknown }) => void };
  actionExecutor: (action: { exec?: (info: unknown, params: unknown) => unknown }) => void;
}

const patchedScopes = new WeakSet<object>();
const patchedSystems = new WeakSet<object>();

/**
 * Makes every action an actor executes report a promise it returns, and makes every actor later created
 * in its system (invoked or spawned, at any depth) run contained logic.
 */
function patchScope(scope: Scope): void {
  if (patchedScopes.has(scope)) return;
  patchedScopes.add(scope);
  const execute = scope.actionExecutor;
  const { system } = scope;
  scope.actionExecutor = (action) => {
    const exec = action.exec;
    // XState builds a fresh action object for each execution: wrapping its `exec` in place copies nothing.
    if (exec)
      action.exec = (info, params) => {
        const result = exec(info, params);
        if (isThenable(result)) trackIn(system, result);
        return result;
      };
    execute(action);
  };
  if (patchedSystems.has(system)) return;
  patchedSystems.add(system);
  // XState announces each new actor (before its first state is computed, so before its entry actions):
  // the one moment to swap its logic for a contained one, whether it was invoked or spawned.
  const announce = system._sendInspectionEvent;
  system._sendInspectionEvent = (event) => {
    if (event.type === '@xstate.actor') {
      const actor = event.actorRef as { logic: AnyActorLogic; _actorScope?: Scope } | undefined;
      if (actor?._actorScope && !patchedScopes.has(actor._actorScope)) {
        actor.logic = containedLogic(actor.logic);
        patchScope(actor._actorScope);
      }
    }
    announce(event);
  };
}

const GUARD_PROMISE =
  'A guard returned a promise: guards decide synchronously from the event and the context (do asynchronous work in an invoked actor).';

type Guard = ((args: unknown, params: unknown) => unknown) & { check?: unknown };

/** A guard that fails (throws) when it returns a promise, instead of counting as true. */
function guardOf<T>(guard: T): T {
  if (typeof guard !== 'function') return guard;
  if ('check' in guard) {
    // A higher-order guard (and, or, not): its checker reads `guards` off the function it is given.
    const inner = (guard as { guards?: unknown }).guards;
    if (!Array.isArray(inner)) return guard;
    const copy = Object.assign(
      function combined() {
        return false;
      },
      guard,
      { guards: inner.map(guardOf) },
    );
    return copy as T;
  }
  const fn = guard as unknown as Guard;
  return ((args: unknown, params: unknown) => {
    const result = fn(args, params);
    if (isThenable(result)) {
      void Promise.resolve(result).catch(ignore);
      throw new TypeError(GUARD_PROMISE);
    }
    return result;
  }) as T;
}

const DELAY_PROMISE =
  'A delay returned a promise: a delay is a number of milliseconds computed synchronously from the context and the event.';

/** A delay (`setup({ delays })`, or a raise or sendTo's `delay`) that fails when it returns a promise. */
function delayOf<T>(delay: T): T {
  if (typeof delay !== 'function') return delay;
  const fn = delay as unknown as (args: unknown, params: unknown) => unknown;
  return ((args: unknown, params: unknown) => {
    const result = fn(args, params);
    if (isThenable(result)) {
      void Promise.resolve(result).catch(ignore);
      throw new TypeError(DELAY_PROMISE);
    }
    return result;
  }) as T;
}

type Actions = unknown;

/** Actions with the delay of each `raise`/`sendTo` given as a function contained (see {@link delayOf}). */
function actionsOf(a: Actions): Actions {
  if (Array.isArray(a)) return a.map(actionsOf);
  if (typeof a !== 'function') return a;
  const { delay, resolve } = a as { delay?: unknown; resolve?: unknown };
  if (typeof delay !== 'function' || typeof resolve !== 'function') return a;
  // XState reads a built-in action's options off the action itself: a copy with the delay replaced.
  const fn = a as (...args: unknown[]) => unknown;
  return Object.assign(
    function action(this: unknown, ...args: unknown[]) {
      return fn.apply(this, args);
    },
    fn,
    { delay: delayOf(delay) },
  );
}

type Transitions = unknown;

function transitionsOf(t: Transitions): Transitions {
  if (Array.isArray(t)) return t.map(transitionsOf);
  if (typeof t !== 'object' || t === null) return t;
  const out = { ...t } as StateConfig;
  if ('guard' in out) out.guard = guardOf(out.guard);
  if ('actions' in out) out.actions = actionsOf(out.actions);
  return out;
}

const mapValues = (o: Record<string, unknown>, f: (v: unknown) => unknown) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));

type StateConfig = Record<string, unknown>;

/** A state's config with every inline guard (of `on`, `always`, `after`, `onDone`, invoke's handlers) contained. */
function stateOf(node: StateConfig): StateConfig {
  const out: StateConfig = { ...node };
  if (node.entry) out.entry = actionsOf(node.entry);
  if (node.exit) out.exit = actionsOf(node.exit);
  if (node.on && typeof node.on === 'object') out.on = mapValues(node.on as StateConfig, transitionsOf);
  if (node.after && typeof node.after === 'object')
    out.after = mapValues(node.after as StateConfig, transitionsOf);
  if (node.always) out.always = transitionsOf(node.always);
  if (node.onDone) out.onDone = transitionsOf(node.onDone);
  if (node.invoke) {
    const each = (i: unknown) => {
      if (typeof i !== 'object' || i === null) return i;
      const inv = { ...(i as StateConfig) };
      for (const k of ['onDone', 'onError', 'onSnapshot']) if (inv[k]) inv[k] = transitionsOf(inv[k]);
      return inv;
    };
    out.invoke = Array.isArray(node.invoke) ? node.invoke.map(each) : each(node.invoke);
  }
  if (node.states && typeof node.states === 'object')
    out.states = mapValues(node.states as StateConfig, (s) => stateOf(s as StateConfig));
  return out;
}

const containedMachines = new WeakMap<AnyStateMachine, AnyStateMachine>();
const containedLogics = new WeakMap<object, AnyActorLogic>();
const contained = new WeakSet<object>();

/**
 * `machine`, made safe to run in a shared process: a guard or a named delay that returns a promise fails
 * (instead of counting as true, or as no delay, with its rejection unhandled), a promise an action returns is reported to the host
 * running the actor (see {@link containWithin}), and every actor it invokes or spawns, at any depth,
 * is contained the same way (a callback actor's promise, a transition actor's asynchronous reducer).
 * Computed once per machine.
 */
export function containedMachine(machine: AnyStateMachine): AnyStateMachine {
  if (contained.has(machine)) return machine;
  let known = containedMachines.get(machine);
  if (known) return known;
  const impl = machine.implementations;
  const rebuilt = createMachine(
    stateOf(machine.config as StateConfig) as never,
    {
      ...impl,
      guards: mapValues(impl.guards as StateConfig, guardOf) as never,
      delays: mapValues((impl.delays ?? {}) as StateConfig, delayOf) as never,
      actions: mapValues((impl.actions ?? {}) as StateConfig, actionsOf) as never,
    } as never,
  ) as AnyStateMachine;
  known = Object.create(rebuilt, {
    transition: {
      value: (snapshot: never, event: never, scope: Scope) => {
        patchScope(scope);
        return rebuilt.transition(snapshot, event, scope as never);
      },
    },
    getInitialSnapshot: {
      value: (scope: Scope, input: unknown) => {
        patchScope(scope);
        return rebuilt.getInitialSnapshot(scope as never, input);
      },
    },
    restoreSnapshot: {
      value: (snapshot: never, scope: Scope) => {
        patchScope(scope);
        return rebuilt.restoreSnapshot(snapshot, scope as never);
      },
    },
  }) as AnyStateMachine;
  contained.add(known);
  containedMachines.set(machine, known);
  return known;
}

/** How a callback actor's `start` reads (the same text for every `fromCallback` of this copy of XState). */
const CALLBACK_START = String(fromCallback(() => undefined).start);

type Callback = (args: { system: object }) => unknown;

/** Any actor logic, contained (see {@link containedMachine}). */
function containedLogic(logic: AnyActorLogic): AnyActorLogic {
  if (contained.has(logic)) return logic;
  if ('root' in logic && 'implementations' in logic) return containedMachine(logic as AnyStateMachine);
  let known = containedLogics.get(logic);
  if (known) return known;
  const config = (logic as { config?: unknown }).config;
  if (typeof config === 'function' && String(logic.start) === CALLBACK_START) {
    // A callback actor returns its cleanup: an `async` callback returns a promise instead.
    known = fromCallback((args) => {
      const result = (config as Callback)(args);
      if (!isThenable(result)) return result as never;
      failIn(args.system, result);
      return undefined;
    }) as AnyActorLogic;
  } else {
    known = Object.create(logic, {
      transition: {
        value: (snapshot: unknown, event: unknown, scope: unknown) => {
          const next = logic.transition(snapshot as never, event as never, scope as never) as {
            context?: unknown;
          };
          // A transition actor's state is what its reducer returned: a promise is an `async` reducer.
          if (isThenable(next?.context)) {
            void Promise.resolve(next.context).catch(ignore);
            throw new TypeError(
              'A transition actor returned a promise: its reducer must be synchronous (use fromPromise for asynchronous work).',
            );
          }
          return next;
        },
      },
    }) as AnyActorLogic;
  }
  contained.add(known);
  containedLogics.set(logic, known);
  return known;
}
