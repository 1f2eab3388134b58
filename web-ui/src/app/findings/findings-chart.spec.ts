import { findingsByKind, labelOf, totalsByKind } from './findings-chart';

describe('findings chart', () => {
  const points = [
    { bucket: '2026-03-10T01:00:00Z', kind: 'prompt_injection', severity: 'high', count: 2 },
    { bucket: '2026-03-10T01:00:00Z', kind: 'prompt_injection', severity: 'low', count: 1 },
    { bucket: '2026-03-10T02:00:00Z', kind: 'anomaly', severity: 'medium', count: 4 },
  ];

  it('stacks every kind in every bucket of the range, severities summed, quiet buckets as zeros', () => {
    const series = findingsByKind(points, ['2026-03-10T00:00:00Z', '2026-03-10T01:00:00Z', '2026-03-10T02:00:00Z']);
    expect(series.map((s) => s.name)).toEqual(['2026-03-10T00:00:00Z', '2026-03-10T01:00:00Z', '2026-03-10T02:00:00Z']);
    expect(series[0].series.map((p) => p.value)).toEqual([0, 0, 0]);
    expect(series[1].series).toEqual([
      { name: 'Prompt injection', value: 3 }, { name: 'Sensitive data', value: 0 }, { name: 'Anomaly', value: 0 },
    ]);
    expect(series[2].series.find((p) => p.name === 'Anomaly')!.value).toBe(4);
  });

  it('totals per kind and severity, in severity order', () => {
    expect(totalsByKind(points)).toEqual([
      { kind: 'anomaly', severity: 'medium', count: 4 },
      { kind: 'prompt_injection', severity: 'low', count: 1 },
      { kind: 'prompt_injection', severity: 'high', count: 2 },
    ]);
    expect(labelOf('something_new')).toBe('something new');
  });
});
