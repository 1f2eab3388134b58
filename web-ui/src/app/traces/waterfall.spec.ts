import { describe, expect, it } from 'vitest';
import { compareTimes, spanTree } from './waterfall';

const span = (spanId: string, startTime: string, parentSpanId: string | null = 'root') => ({ spanId, parentSpanId, startTime });

describe('spanTree', () => {
  it('orders siblings by start to the microsecond, not by id', () => {
    const tree = spanTree([
      span('root', '2026-11-24T10:00:00.000000Z', null),
      span('a-summarize', '2026-11-24T10:00:00.100900Z'),
      span('z-input-guard', '2026-11-24T10:00:00.100100Z'),
    ]);
    expect(tree.map((n) => n.span.spanId)).toEqual(['root', 'z-input-guard', 'a-summarize']);
    expect(tree.map((n) => n.depth)).toEqual([0, 1, 1]);
  });

  it('compares the API time form as time', () => {
    expect(compareTimes('2026-11-24T10:00:00.000001Z', '2026-11-24T10:00:00.000002Z')).toBeLessThan(0);
    expect(compareTimes('2026-11-24T10:00:01.000000Z', '2026-11-24T10:00:00.999999Z')).toBeGreaterThan(0);
    expect(compareTimes('2026-11-24T10:00:00.000000Z', '2026-11-24T10:00:00.000000Z')).toBe(0);
  });
});
