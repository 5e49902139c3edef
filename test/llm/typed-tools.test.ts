/**
 * A tool typed by its arguments goes wherever a list of tools is taken (a model request, `runTools`), and
 * its `run` receives the validated arguments. Compiling this file is half the test: with `run` declared as
 * a function property, `ToolDefinition<{ to: string }, string>` was not assignable to `ToolDefinition[]`.
 */
import { createModelClient, type ModelRequest, type ToolDefinition } from 'hearsay';
import { simulatedTransport } from 'hearsay/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const sent: string[] = [];
const sendEmail: ToolDefinition<{ to: string; body: string }, string> = {
  name: 'send_email',
  description: 'Sends an email.',
  parameters: z.object({ to: z.string(), body: z.string() }),
  run: (args) => {
    sent.push(args.to); // typed: args.to is a string
    return `sent to ${args.to}`;
  },
};

describe('typed tools', () => {
  it('are accepted in a list of tools, and run with their typed arguments', async () => {
    const tools: readonly ToolDefinition[] = [sendEmail];
    const request: ModelRequest = {
      messages: [{ role: 'user', content: 'mail a@b.co' }],
      tools: [sendEmail],
    };
    const client = createModelClient({
      transport: simulatedTransport(),
      tiers: { large: { models: ['sim'] } },
    });
    const r = await client.complete(request);
    expect(r.ok).toBe(true);
    expect(await tools[0]!.run!({ to: 'a@b.co', body: 'hi' }, { signal: new AbortController().signal })).toBe(
      'sent to a@b.co',
    );
    expect(sent).toEqual(['a@b.co']);
  });
});
