/**
 * A board schema that is not a zod 4 schema is refused up front, saying what to do: a zod 3 schema (a
 * project still on zod 3, or `zod/v3`, which zod 4 ships), a value that is no schema, a runtime without
 * `board`. They used to fail deep inside with "Cannot read properties of undefined (reading 'def')" (or
 * 'schema'), from createRuntime and createBlackboard alike. zod 4's mini flavour is a zod 4 schema and works.
 */
import { createBlackboard, createRuntime } from 'hearsay';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { z as zm } from 'zod/mini';
import { z as z3 } from 'zod/v3';

type AnyConfig = Parameters<typeof createRuntime>[0];
const runtimeOf = (config: unknown) => createRuntime(config as AnyConfig);
const initial = { goal: '' };

describe('board schemas that are not zod 4', () => {
  it('a zod 3 schema: createRuntime and createBlackboard throw, naming zod 4', async () => {
    const schema = z3.object({ goal: z3.string() });
    expect(() => runtimeOf({ board: { schema, initial }, agents: [] })).toThrow(
      /board\.schema is a zod 3 schema; the board needs a zod 4 schema/,
    );
    await expect(createBlackboard({ schema: schema as never, initial })).rejects.toThrow(
      /schema is a zod 3 schema; the board needs a zod 4 schema/,
    );
  });

  it('no schema, or a value that is no schema: a TypeError that shows one', async () => {
    for (const schema of [undefined, null, 5, 'z.object', {}, { _zod: {} }])
      expect(() => runtimeOf({ board: { schema, initial }, agents: [] })).toThrow(
        /board\.schema must be a zod 4 schema such as z\.object/,
      );
    await expect(createBlackboard({ schema: {} as never, initial })).rejects.toThrow(
      /must be a zod 4 schema/,
    );
  });

  it('no board: createRuntime says what it needs', () => {
    for (const board of [undefined, null, 'board'])
      expect(() => runtimeOf({ board, agents: [] })).toThrow(
        /createRuntime needs board: \{ schema, initial \}/,
      );
  });

  it('zod 4, classic and mini, is accepted', async () => {
    for (const schema of [z.object({ goal: z.string() }), zm.object({ goal: zm.string() })]) {
      const runtime = runtimeOf({ board: { schema, initial }, agents: [] });
      try {
        const result = await runtime.run({ goal: 'x' });
        expect(result.board).toEqual({ goal: 'x' });
      } finally {
        await runtime.close();
      }
      const board = await createBlackboard({ schema: schema as never, initial });
      expect(board.state).toEqual(initial);
      await board.close();
    }
  });
});
