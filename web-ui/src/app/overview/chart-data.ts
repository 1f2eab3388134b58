import { ErrorRatePoint, LatencyPoint, ModelLatency, SecurityDay, UsagePoint } from '../api/models';

export interface SeriesPoint { name: Date | string; value: number; }
export interface Series { name: string; series: SeriesPoint[]; }
export interface BubblePoint { name: string; x: number; y: number; r: number; }
export interface BubbleSeries { name: string; series: BubblePoint[]; }

/**
 * One series per model over the union of buckets, missing buckets as zeros: a stacked area chart
 * needs every series on the same x values.
 */
export function stackedByModel(points: UsagePoint[], value: (p: UsagePoint) => number, allBuckets: string[] = []): Series[] {
  const buckets = [...new Set([...allBuckets, ...points.map((p) => p.bucket)])].sort();
  const models = [...new Set(points.map((p) => p.model))].sort();
  return models.map((model) => ({
    name: model,
    series: buckets.map((bucket) => {
      const p = points.find((x) => x.model === model && x.bucket === bucket);
      return { name: new Date(bucket), value: p ? value(p) : 0 };
    }),
  }));
}

export function securityTrend(days: SecurityDay[]): Series[] {
  return [
    { name: 'Anomalies detected', series: days.map((d) => ({ name: d.day, value: d.anomalies })) },
    { name: 'Prompt injections blocked', series: days.map((d) => ({ name: d.day, value: d.promptInjectionsBlocked })) },
    { name: 'Prompt injections detected in spans', series: days.map((d) => ({ name: d.day, value: d.promptInjectionsDetected ?? 0 })) },
  ];
}

/** Fixed radius: ngx-charts has no scatter chart, so a bubble chart with equal bubbles stands in. */
export function latencyBubbles(points: LatencyPoint[]): BubbleSeries[] {
  const groups: [string, LatencyPoint[]][] = [
    ['Traces without errors', points.filter((p) => p.status !== 'error')],
    ['Traces with errors', points.filter((p) => p.status === 'error')],
  ];
  return groups.filter(([, ps]) => ps.length > 0)
    .map(([name, ps]) => ({ name, series: ps.map((p) => ({ name: p.traceId, x: p.externalMs, y: p.llmMs, r: 1 })) }));
}

/**
 * One point per bucket of the range, a bucket without traces as 0%, like the usage charts: with only
 * the buckets that hold traces, a range whose traces all fall in one bucket (7 days of daily buckets,
 * all traces today) gives a one-point series, and a line through one point draws nothing.
 */
export function errorRateSeries(points: ErrorRatePoint[], allBuckets: string[] = []): Series[] {
  const byBucket = new Map(points.map((p) => [p.bucket, p]));
  const buckets = [...new Set([...allBuckets, ...byBucket.keys()])].sort();
  return [{
    name: 'Error rate %',
    series: buckets.map((bucket) => ({ name: new Date(bucket), value: Math.round((byBucket.get(bucket)?.errorRate ?? 0) * 10000) / 100 })),
  }];
}

export function modelLatencyGroups(models: ModelLatency[]): Series[] {
  return models.map((m) => ({ name: m.model, series: [{ name: 'p50', value: m.p50Ms }, { name: 'p95', value: m.p95Ms }] }));
}

const BucketMs: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** Every bucket start of the range (UTC, as the API formats them), so quiet buckets draw as zeros, not as gaps. */
export function bucketsOf(from: string, to: string, bucket: string): string[] {
  const size = BucketMs[bucket];
  if (!size) return [];
  const out: string[] = [];
  for (let t = Math.floor(Date.parse(from) / size) * size; t < Date.parse(to) && out.length < 2000; t += size) {
    out.push(new Date(t).toISOString().replace('.000Z', 'Z'));
  }
  return out;
}
