/** The tier a model request without `tier` (and an agent without `model.tier`) asks for. */
export const DEFAULT_TIER = 'large';

/** The `unknown_tier` failure: the tier asked for, and the tiers there are. */
export function unknownTier(
  tier: string,
  defaulted: boolean,
  configured: readonly string[],
): { code: 'unknown_tier'; message: string; tier: string; configured: readonly string[] } {
  const which = defaulted
    ? `The request named no tier, so it asked for the default tier "${tier}", which is not configured`
    : `No tier "${tier}" is configured`;
  const there =
    configured.length === 0
      ? 'the model client has no tiers: give createModelClient tiers such as { large: { models: [...] } }'
      : `the configured tiers are ${configured.map((t) => `"${t}"`).join(', ')}: ask for one of them, or add "${tier}" to the client's tiers`;
  return { code: 'unknown_tier', message: `${which}; ${there}.`, tier, configured: [...configured] };
}
