import type { Counter, Histogram, Meter } from '@opentelemetry/api';

/** The runtime's metrics, created once per meter. */
export class Instruments {
  readonly activations: Counter;
  readonly activationDuration: Histogram;
  readonly commits: Counter;
  readonly conflicts: Counter;
  readonly tokens: Counter;
  readonly cost: Counter;
  readonly modelDuration: Histogram;

  constructor(meter: Meter) {
    this.activations = meter.createCounter('hearsay.activations', {
      description: 'Activation attempts that ended, by agent and result (ok, error, aborted)',
    });
    this.activationDuration = meter.createHistogram('hearsay.activation.duration', {
      description: 'How long activation attempts took',
      unit: 'ms',
    });
    this.commits = meter.createCounter('hearsay.commits', { description: 'Accepted commits, by author' });
    this.conflicts = meter.createCounter('hearsay.commit.conflicts', {
      description: 'Commits of activations refused because the board moved under them, by agent',
    });
    this.tokens = meter.createCounter('hearsay.tokens', {
      description: 'Model tokens, by agent, model and type (input, output)',
      unit: '{token}',
    });
    this.cost = meter.createCounter('hearsay.cost', { description: 'Model cost, by agent and model' });
    this.modelDuration = meter.createHistogram('gen_ai.client.operation.duration', {
      description: 'Model call latency',
      unit: 's',
    });
  }
}
