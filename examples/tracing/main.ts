/**
 * `npm run demo:tracing`: the team of `npm start`, traced with the OpenTelemetry SDK. Hearsay depends only
 * on `@opentelemetry/api`; you register the SDK. Here the spans go to an in-memory exporter and are printed
 * as a tree; in production, give the provider an OTLP exporter instead (see README, "Tracing").
 */
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { createRuntime } from 'hearsay';
import { team } from '../hub-and-spoke/team.js';

const exporter = new InMemorySpanExporter();
// Production: new BatchSpanProcessor(new OTLPTraceExporter({ url: 'http://collector:4318/v1/traces' }))
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

const runtime = createRuntime({
  ...team,
  observability: {
    tracer: provider.getTracer('hearsay-demo'),
    redact: (t) => t.replace(/sk-\w+/g, 'sk-***'),
  },
});
const result = await runtime.run({ goal: 'a blackboard runtime teams can trust' });
await provider.forceFlush();

const spans = exporter.getFinishedSpans();
const children = new Map<string | undefined, ReadableSpan[]>();
for (const s of spans) {
  const parent = s.parentSpanContext?.spanId;
  children.set(parent, [...(children.get(parent) ?? []), s]);
}
const ms = (s: ReadableSpan) => (s.duration[0] * 1e3 + s.duration[1] / 1e6).toFixed(1);
const print = (s: ReadableSpan, depth: number) => {
  const a = s.attributes;
  const extra =
    a['gen_ai.request.model'] !== undefined
      ? `  ${a['gen_ai.usage.input_tokens']}+${a['gen_ai.usage.output_tokens']} tokens $${Number(a['hearsay.cost']).toFixed(6)}`
      : '';
  console.log(`${'  '.repeat(depth)}${s.name}  ${ms(s)} ms${s.status.code === 2 ? '  ERROR' : ''}${extra}`);
  for (const c of children.get(s.spanContext().spanId) ?? []) print(c, depth + 1);
};
console.log(`Run ${result.runId}: ${result.outcome}; trace ${result.traceId}, ${spans.length} spans\n`);
for (const root of children.get(undefined) ?? []) print(root, 0);
console.log(`\nTotal: ${result.cost.total.tokens} tokens, $${result.cost.total.cost.toFixed(6)}`);
