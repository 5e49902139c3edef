import type { Draft } from 'immer';
import { emit } from 'xstate';
import type { Patch, Path } from '../blackboard/index.js';
import type { Usage } from '../llm/index.js';

/** Arguments XState gives an action: the machine's context and the event being handled. */
export interface ActionArgs<TContext = unknown, TEvent = unknown> {
  readonly context: TContext;
  readonly event: TEvent;
}

/** Requests the runtime handles for an agent, emitted by the action creators below. */
export type AgentRequest =
  | {
      readonly type: 'hearsay.commit';
      readonly recipe: (draft: Draft<unknown>) => unknown;
    }
  | { readonly type: 'hearsay.publish'; readonly topic: string; readonly payload: unknown }
  | { readonly type: 'hearsay.delegate'; readonly to: string; readonly task: unknown }
  | { readonly type: 'hearsay.charge'; readonly usage: Partial<Usage> }
  | {
      /** A commit prepared elsewhere (a remote agent ran its recipe on its replica of the board). */
      readonly type: 'hearsay.patch';
      readonly baseVersion: number;
      readonly reads: readonly Path[];
      readonly patches: readonly Patch[];
    };

/** An XState action that emits a request to the runtime (use it in `actions` or `entry`). */
// biome-ignore lint/suspicious/noExplicitAny: XState's action parameter types are internal; this is the documented way to pass an action creator through.
export type AgentAction = any;

const toRequest = <TArgs>(make: (args: TArgs) => AgentRequest): AgentAction =>
  emit(((args: TArgs) => make(args)) as never);

/**
 * Action creators bound to a board type. The runtime performs what they request: a commit (prepared
 * from the board the activation saw, so it conflicts rather than overwrite if that board moved), a
 * message, a delegation, a usage charge.
 *
 * @example
 * const { commit, publish } = agentActions<Board>();
 * // in a machine: actions: commit(({ event }) => (d) => { d.tasks.get(event.output.id)!.status = 'done'; })
 */
export function agentActions<TBoard>() {
  return {
    /** Commits what `recipe` does to a draft of the board the activation saw. */
    commit<TContext = unknown, TEvent = unknown>(
      recipe: (args: ActionArgs<TContext, TEvent>) => (draft: Draft<TBoard>) => void,
    ): AgentAction {
      return toRequest((args: ActionArgs<TContext, TEvent>) => ({
        type: 'hearsay.commit',
        recipe: recipe(args) as (draft: Draft<unknown>) => unknown,
      }));
    },
    /** Publishes a message on the run's bus. */
    publish<TContext = unknown, TEvent = unknown>(
      topic: string,
      payload: (args: ActionArgs<TContext, TEvent>) => unknown,
    ): AgentAction {
      return toRequest((args: ActionArgs<TContext, TEvent>) => ({
        type: 'hearsay.publish',
        topic,
        payload: payload(args),
      }));
    },
    /** Asks agent `to` to do `task`; refused (and recorded) if it would close a cycle of delegations. */
    delegate<TContext = unknown, TEvent = unknown>(
      to: string,
      task: (args: ActionArgs<TContext, TEvent>) => unknown,
    ): AgentAction {
      return toRequest((args: ActionArgs<TContext, TEvent>) => ({
        type: 'hearsay.delegate',
        to,
        task: task(args),
      }));
    },
    /** Charges usage to the activation (the model layer does this for model calls). */
    charge<TContext = unknown, TEvent = unknown>(
      usage: (args: ActionArgs<TContext, TEvent>) => Partial<Usage>,
    ): AgentAction {
      return toRequest((args: ActionArgs<TContext, TEvent>) => ({
        type: 'hearsay.charge',
        usage: usage(args),
      }));
    },
  };
}

/** True when an emitted event is a request for the runtime. */
export function isAgentRequest(event: { type: string }): event is AgentRequest {
  return (
    event.type === 'hearsay.commit' ||
    event.type === 'hearsay.publish' ||
    event.type === 'hearsay.delegate' ||
    event.type === 'hearsay.charge'
  );
}
