import { createModelClient, type ModelClient, type ModelClientConfig } from './model-client.js';
import { openAITransport } from './openai-transport.js';
import { type SimulatedOptions, simulatedTransport } from './simulated.js';
import type { Price } from './types.js';

/**
 * Prices in dollars per million input and output tokens of a few common OpenAI models, which
 * {@link modelsFromEnv} uses to report cost. Spread it into your own `prices` and add the models you use.
 *
 * @example
 * import { createModelClient, KNOWN_PRICES, openAITransport } from 'hearsay';
 *
 * const models = createModelClient({
 *   transport: openAITransport({ apiKey: process.env.OPENAI_API_KEY! }),
 *   tiers: { small: { models: ['gpt-4o-mini'] }, large: { models: ['gpt-4o'], cheaper: 'gpt-4o-mini' } },
 *   prices: { ...KNOWN_PRICES, 'my-model': { input: 0.1, output: 0.4 } },
 * });
 */
export const KNOWN_PRICES: Readonly<Record<string, Price>> = {
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1': { input: 2, output: 8 },
};

/** What {@link modelsFromEnv} chose. */
export interface EnvModels {
  readonly client: ModelClient;
  /** True when no API key or base URL was configured and the simulated model answers. */
  readonly simulated: boolean;
  /** One line for the user: which models answer, and that a simulated one is simulated. */
  readonly description: string;
}

/**
 * The model client the environment asks for: with `OPENAI_API_KEY` (and optional `OPENAI_BASE_URL`,
 * `HEARSAY_MODEL_SMALL`, `HEARSAY_MODEL_LARGE`) a real OpenAI-compatible server; otherwise the built-in
 * simulated model, offline and deterministic.
 *
 * @example
 * import { createRuntime, modelsFromEnv } from 'hearsay';
 *
 * const models = modelsFromEnv(); // reads process.env
 * console.log(models.description); // which models answer, or that they are simulated
 * const runtime = createRuntime({ board, agents, models: models.client });
 */
export function modelsFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: { simulated?: SimulatedOptions; config?: Partial<ModelClientConfig> } = {},
): EnvModels {
  const key = env.OPENAI_API_KEY;
  const baseURL = env.OPENAI_BASE_URL;
  if (key || baseURL) {
    const small = env.HEARSAY_MODEL_SMALL ?? 'gpt-4o-mini';
    const large = env.HEARSAY_MODEL_LARGE ?? 'gpt-4o';
    return {
      client: createModelClient({
        transport: openAITransport({ apiKey: key ?? 'not-needed', ...(baseURL ? { baseURL } : {}) }),
        tiers: { small: { models: [small] }, large: { models: [large, small], cheaper: small } },
        prices: KNOWN_PRICES,
        ...options.config,
      }),
      simulated: false,
      description: `models: ${small} (small), ${large} (large) at ${baseURL ?? 'the OpenAI API'}`,
    };
  }
  return {
    client: createModelClient({
      transport: simulatedTransport(options.simulated),
      tiers: {
        small: { models: ['simulated/small'] },
        large: { models: ['simulated/large'], cheaper: 'simulated/small' },
      },
      prices: { 'simulated/small': KNOWN_PRICES['gpt-4o-mini']!, 'simulated/large': KNOWN_PRICES['gpt-4o']! },
      ...options.config,
    }),
    simulated: true,
    description: 'models: SIMULATED (offline, deterministic answers; set OPENAI_API_KEY to use a real model)',
  };
}
