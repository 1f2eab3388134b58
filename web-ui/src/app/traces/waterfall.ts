import { SpanView } from '../api/models';

export interface WaterfallRow { span: SpanView; depth: number; offsetPct: number; widthPct: number; open: boolean; }

/** Depth-first order of the span tree; roots (and orphans whose parent is unknown) first, by start. */
export function spanTree<T extends { spanId: string; parentSpanId: string | null; startTime: string }>(spans: T[]): { span: T; depth: number }[] {
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string | null, T[]>();
  for (const s of spans) {
    const parent = s.parentSpanId && ids.has(s.parentSpanId) ? s.parentSpanId : null;
    children.set(parent, [...(children.get(parent) ?? []), s]);
  }
  // To the microsecond: Date.parse keeps milliseconds only, which put quick sibling steps in id order.
  for (const list of children.values()) list.sort((a, b) => compareTimes(a.startTime, b.startTime) || a.spanId.localeCompare(b.spanId));
  const out: { span: T; depth: number }[] = [];
  const visit = (parent: string | null, depth: number) => {
    for (const s of children.get(parent) ?? []) {
      out.push({ span: s, depth });
      visit(s.spanId, depth + 1);
    }
  };
  visit(null, 0);
  return out;
}

/** Bars to scale: offset and width as percentages of the trace's whole extent (open spans run to its end). */
export function waterfall(spans: SpanView[]): WaterfallRow[] {
  if (spans.length === 0) return [];
  const start = Math.min(...spans.map((s) => Date.parse(s.startTime)));
  const end = Math.max(...spans.map((s) => Date.parse(s.endTime ?? s.startTime)));
  const total = Math.max(end - start, 1);
  return spanTree(spans).map(({ span, depth }) => {
    const s = Date.parse(span.startTime);
    const e = span.endTime ? Date.parse(span.endTime) : end;
    return { span, depth, offsetPct: ((s - start) / total) * 100, widthPct: Math.max(((e - s) / total) * 100, 0.3), open: !span.endTime };
  });
}

/** Orders two RFC 3339 times to the microsecond (the API records microseconds; Date.parse keeps milliseconds). */
export function compareTimes(a: string, b: string): number {
  return microseconds(a) - microseconds(b);
}

function microseconds(time: string): number {
  const fraction = /\.(\d+)/.exec(time)?.[1] ?? '';
  return Date.parse(time) * 1000 + Number((fraction + '000000').slice(3, 6));
}
