import { SpanView } from '../app/api/models';

/** A span as the read API returns it, for unit tests. */
export function span(id: string, parent: string | null, start: string, end: string | null, extra: Partial<SpanView> = {}): SpanView {
  return { traceId: 't', spanId: id, parentSpanId: parent, name: id, kind: 'llm', startTime: start, endTime: end, status: end ? 'ok' : null,
    statusMessage: null, model: null, provider: null, inputTokens: null, outputTokens: null, costUsd: null, input: null, output: null,
    attributes: null, ...extra };
}
