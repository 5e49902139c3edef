import { appendFileSync } from 'node:fs';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** An SDK tracer whose ended spans are kept in memory (the OpenTelemetry SDK's own in-memory exporter). */
export function memoryTracing() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { exporter, tracer: provider.getTracer('test'), spans: () => exporter.getFinishedSpans() };
}

/** The parts of a span the tests compare, as a line another process can write. */
export interface SpanLine {
  readonly name: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly status: number;
  readonly attributes: Record<string, unknown>;
}

export const lineOf = (s: ReadableSpan): SpanLine => ({
  name: s.name,
  traceId: s.spanContext().traceId,
  spanId: s.spanContext().spanId,
  ...(s.parentSpanContext ? { parentSpanId: s.parentSpanContext.spanId } : {}),
  status: s.status.code,
  attributes: { ...s.attributes },
});

/** A tracer that appends each ended span to `file` as a JSON line (for a child process's spans). */
export function fileTracing(file: string) {
  const processor: SpanProcessor = {
    onStart: () => {},
    onEnd: (span) => appendFileSync(file, `${JSON.stringify(lineOf(span))}\n`),
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  return new BasicTracerProvider({ spanProcessors: [processor] }).getTracer('remote');
}
