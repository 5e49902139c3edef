import { type AnyMachineSnapshot, getNextTransitions } from 'xstate';
import type { z } from 'zod';
import type { ToolDefinition, ValidatedToolCall } from '../llm/index.js';

/** A machine event a model may choose, with the schema of its payload. */
export type MoveSchemas = Readonly<Record<string, z.ZodType<Record<string, unknown>>>>;

/**
 * The transitions a machine allows in its current state, as tool definitions (one per event type, its
 * payload schema as the parameters), so a model deciding an agent's next step can only choose a move
 * the machine can take. Events without a schema in `moves` are not offered; guards are checked again
 * with the chosen payload (`toMove`).
 *
 * @example
 * const tools = legalMoves(actor.getSnapshot(), { approve: z.object({}), reject: z.object({ reason: z.string() }) });
 * const r = await tools.model({ messages, tools });  // the model can only pick approve or reject, if enabled
 * if (r.ok) { const move = toMove(actor.getSnapshot(), r.toolCalls[0]!); if (move) actor.send(move); }
 */
export function legalMoves(snapshot: AnyMachineSnapshot, moves: MoveSchemas): ToolDefinition[] {
  const enabled = new Set(getNextTransitions(snapshot).map((t) => t.eventType));
  return Object.entries(moves)
    .filter(([type]) => enabled.has(type))
    .map(([type, parameters]) => ({
      name: type,
      description: `Send the event "${type}" to the agent's machine.`,
      parameters,
    }));
}

/**
 * The event for a validated tool call, if the machine can take it now with that payload: the way back from
 * the model's choice among {@link legalMoves} to an event to send. `undefined` when a guard refuses it.
 *
 * @example
 * import { legalMoves, toMove } from 'hearsay';
 *
 * const tools = legalMoves(actor.getSnapshot(), { approve: z.object({}) });
 * const r = await input.tools.model({ messages, tools });
 * const move = r.ok && r.toolCalls[0] ? toMove(actor.getSnapshot(), r.toolCalls[0]) : undefined;
 * if (move) actor.send(move); // e.g. { type: 'approve' }
 */
export function toMove(
  snapshot: AnyMachineSnapshot,
  call: ValidatedToolCall,
): ({ type: string } & Record<string, unknown>) | undefined {
  const event = { ...(call.args as Record<string, unknown>), type: call.name };
  return snapshot.can(event as never) ? event : undefined;
}
