/**
 * Issue 18: a model request that names no tier asks for `large`; a tier the client lacks (the default
 * included) is a typed `unknown_tier` failure that names the tier and the configured ones, and no request
 * is sent. Through the built package.
 */
import { createModelClient, type Transport, type TransportRequest } from 'hearsay';
import { describe, expect, it } from 'vitest';

function client(tiers: Record<string, { models: string[] }>) {
  const sent: TransportRequest[] = [];
  const transport: Transport = {
    name: 'recording',
    send: async (request) => {
      sent.push(request);
      return { text: 'ok', toolCalls: [], finishReason: 'stop' };
    },
  };
  return { llm: createModelClient({ transport, tiers, cache: false }), sent };
}

const messages = [{ role: 'user' as const, content: 'hi' }];

describe('model tiers', () => {
  it('a request without a tier uses the large tier', async () => {
    const { llm, sent } = client({ small: { models: ['mini'] }, large: { models: ['big'] } });
    expect(await llm.complete({ messages })).toMatchObject({ ok: true, model: 'big' });
    expect(sent.map((r) => r.model)).toEqual(['big']);
  });

  it('without a large tier, a request naming none fails with unknown_tier naming the default and the tiers', async () => {
    const { llm, sent } = client({ small: { models: ['mini'] }, fast: { models: ['f'] } });
    const r = await llm.complete({ messages });
    expect(r).toMatchObject({
      ok: false,
      error: { code: 'unknown_tier', tier: 'large', configured: ['small', 'fast'] },
    });
    if (r.ok || r.error.code !== 'unknown_tier') throw new Error('expected unknown_tier');
    expect(r.error.message).toMatch(/named no tier.*default tier "large".*"small", "fast"/);
    expect(sent).toEqual([]);
  });

  it('an unknown tier, even one named like an Object property, is unknown_tier, not a crash', async () => {
    const { llm, sent } = client({ large: { models: ['big'] } });
    for (const tier of ['huge', 'constructor', 'toString', '__proto__', 'hasOwnProperty', '']) {
      const r = await llm.complete({ tier, messages });
      expect(r, tier).toMatchObject({
        ok: false,
        error: { code: 'unknown_tier', tier, configured: ['large'] },
      });
      if (!r.ok && r.error.code === 'unknown_tier') expect(r.error.message).toContain(`No tier "${tier}"`);
    }
    expect(sent).toEqual([]);
  });

  it('a client with no tiers says so', async () => {
    const { llm } = client({});
    const r = await llm.complete({ tier: 'small', messages });
    expect(r).toMatchObject({ ok: false, error: { code: 'unknown_tier', configured: [] } });
    if (!r.ok) expect(r.error.message).toMatch(/has no tiers/);
  });
});
