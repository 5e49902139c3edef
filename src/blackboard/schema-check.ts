/**
 * @internal Checks, before anything reads it, that a board's schema is a zod 4 schema (zod 4 classic or
 * mini: what the board walks, through `_zod.def`). A zod 3 schema (a project on zod 3, or `zod/v3`) or a
 * missing one used to fail deep inside with "Cannot read properties of undefined (reading 'def')".
 *
 * @example
 * assertBoardSchema(z.object({ goal: z.string() }), 'board.schema'); // passes
 * assertBoardSchema(z3.object({ goal: z3.string() }), 'board.schema'); // throws: a zod 3 schema
 */
export function assertBoardSchema(schema: unknown, where: string): void {
  const core =
    typeof schema === 'object' && schema !== null ? (schema as { _zod?: { def?: unknown } })._zod : undefined;
  if (typeof core === 'object' && core !== null && typeof core.def === 'object' && core.def !== null) return;
  if (typeof schema === 'object' && schema !== null && '_def' in schema)
    throw new TypeError(
      `${where} is a zod 3 schema; the board needs a zod 4 schema: install zod 4 (npm install zod@^4) and import { z } from 'zod' (not 'zod/v3').`,
    );
  throw new TypeError(
    `${where} must be a zod 4 schema such as z.object({ goal: z.string() }), got ${schema === null ? 'null' : typeof schema}.`,
  );
}

/**
 * @internal Checks a runtime's `board` option: an object with a zod 4 `schema` (its `initial` state is
 * checked against the schema when a run starts).
 *
 * @example
 * assertBoardConfig({ schema: Board, initial: { goal: '' } }); // passes
 */
export function assertBoardConfig(board: unknown): void {
  if (typeof board !== 'object' || board === null)
    throw new TypeError(
      "createRuntime needs board: { schema, initial }: the board's zod schema and its initial state.",
    );
  assertBoardSchema((board as { schema?: unknown }).schema, 'board.schema');
}
