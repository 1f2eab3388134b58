import { FindingsPoint } from '../api/models';
import { Series } from '../overview/chart-data';

/** The kinds the detectors record, in the chart's order, with their labels. */
export const FindingKinds: { value: string; label: string }[] = [
  { value: 'prompt_injection', label: 'Prompt injection' },
  { value: 'sensitive_data', label: 'Sensitive data' },
  { value: 'anomaly', label: 'Anomaly' },
];

export const Severities = ['low', 'medium', 'high', 'critical'];

/**
 * A stacked bar per bucket of the range (every bucket, a quiet one as zeros), one stack part per kind: the counts
 * of every severity summed. Kinds the API answers beyond the known ones get their own part.
 */
export function findingsByKind(points: FindingsPoint[], buckets: string[]): Series[] {
  const kinds = [...new Set([...FindingKinds.map((k) => k.value), ...points.map((p) => p.kind)])];
  const all = [...new Set([...buckets, ...points.map((p) => p.bucket)])].sort();
  return all.map((bucket) => ({
    name: bucket,
    series: kinds.map((kind) => ({
      name: labelOf(kind),
      value: points.filter((p) => p.bucket === bucket && p.kind === kind).reduce((s, p) => s + p.count, 0),
    })),
  }));
}

/** Totals per kind and severity over the whole range (the chart's data table). */
export function totalsByKind(points: FindingsPoint[]): { kind: string; severity: string; count: number }[] {
  const totals = new Map<string, number>();
  for (const p of points) totals.set(`${p.kind}|${p.severity}`, (totals.get(`${p.kind}|${p.severity}`) ?? 0) + p.count);
  return [...totals.entries()].map(([key, count]) => {
    const [kind, severity] = key.split('|');
    return { kind, severity, count };
  }).sort((a, b) => a.kind.localeCompare(b.kind) || Severities.indexOf(a.severity) - Severities.indexOf(b.severity));
}

export function labelOf(kind: string): string {
  return FindingKinds.find((k) => k.value === kind)?.label ?? kind.replace(/_/g, ' ');
}
