import type { ActivationTools } from '../../src/index.js';

/** Prices of the simulated models, per 1,000 tokens. */
const PRICE = { small: 0.0002, large: 0.002 } as const;

/**
 * A simulated model call: waits on the run's clock (as a real call would), charges its usage to the
 * activation, and answers deterministically from the prompt. Offline; swap in the model layer for a real one.
 */
export async function simulatedModel(
  tools: ActivationTools,
  tier: keyof typeof PRICE,
  prompt: string,
  answer: string,
  latencyMs: number,
): Promise<string> {
  await tools.sleep(latencyMs);
  const inputTokens = Math.ceil(prompt.length / 4);
  const outputTokens = Math.ceil(answer.length / 4);
  tools.charge({ inputTokens, outputTokens, cost: ((inputTokens + outputTokens) / 1000) * PRICE[tier] });
  return answer;
}
