import { Injectable, computed, signal } from '@angular/core';
import { TimeRange } from '../api/models';

export type RangePreset = '1h' | '24h' | '7d' | '30d';

export const RangePresets: { value: RangePreset; label: string; ms: number }[] = [
  { value: '1h', label: 'Last hour', ms: 3_600_000 },
  { value: '24h', label: 'Last 24 hours', ms: 86_400_000 },
  { value: '7d', label: 'Last 7 days', ms: 7 * 86_400_000 },
  { value: '30d', label: 'Last 30 days', ms: 30 * 86_400_000 },
];

/** Whole seconds, so the same range gives the same query (and the same cache key) within a second. */
export function rangeEnding(now: Date, preset: RangePreset): TimeRange {
  const ms = RangePresets.find((p) => p.value === preset)!.ms;
  const to = new Date(Math.ceil(now.getTime() / 1000) * 1000);
  return { from: new Date(to.getTime() - ms).toISOString(), to: to.toISOString() };
}

/** The one time range every overview chart and the trace list share. */
@Injectable({ providedIn: 'root' })
export class TimeRangeService {
  readonly preset = signal<RangePreset>('24h');
  private readonly refreshedAt = signal(new Date());
  readonly range = computed(() => rangeEnding(this.refreshedAt(), this.preset()));

  select(preset: RangePreset): void {
    this.refreshedAt.set(new Date());
    this.preset.set(preset);
  }

  refresh(): void {
    this.refreshedAt.set(new Date());
  }
}
