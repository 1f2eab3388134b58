import { ChangeDetectionStrategy, Component, computed, effect, inject, signal } from '@angular/core';
import { rxResource } from '@angular/core/rxjs-interop';
import { RouterLink } from '@angular/router';
import { Color, LegendPosition, NgxChartsModule, ScaleType } from '@swimlane/ngx-charts';
import { firstValueFrom } from 'rxjs';
import { ApiService } from '../api/api.service';
import { FindingItem } from '../api/models';
import { bucketsOf } from '../overview/chart-data';
import { latestValue } from '../shared/latest-value';
import { formatTime } from '../shared/format';
import { TimeRangePicker } from '../shared/time-range-picker';
import { TimeRangeService } from '../shared/time-range.service';
import { FindingKinds, Severities, findingsByKind, labelOf, totalsByKind } from './findings-chart';

/**
 * The detectors' findings (issue 15.5, docs/security-engine.md): prompt injections, sensitive data and anomalies over
 * time by kind, and the list with filters, each finding linking to its trace and to the Time Machine at its step.
 */
@Component({
  selector: 'as-findings-page',
  imports: [NgxChartsModule, RouterLink, TimeRangePicker],
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './findings-page.html',
  styleUrl: './findings-page.css',
})
export class FindingsPage {
  private readonly api = inject(ApiService);
  protected readonly ranges = inject(TimeRangeService);
  protected readonly kinds = FindingKinds;
  protected readonly severities = Severities;
  protected readonly labelOf = labelOf;
  protected readonly formatTime = formatTime;
  protected readonly below = LegendPosition.Below;
  protected readonly colors: Color = { name: 'findings', selectable: true, group: ScaleType.Ordinal, domain: ['#cf222e', '#8250df', '#e3a008', '#57606a'] };

  protected readonly kind = signal('');
  protected readonly severity = signal('');
  protected readonly agent = signal('');
  protected readonly traceId = signal('');
  private readonly query = computed(() => ({
    ...this.ranges.range(), kind: this.kind(), severity: this.severity(), agent: this.agent().trim(), traceId: this.traceId().trim(),
  }));

  protected readonly chart = rxResource({ params: () => this.query(), stream: ({ params }) => this.api.findingsOverTime(params) });
  protected readonly first = rxResource({ params: () => this.query(), stream: ({ params }) => this.api.findingList({ ...params, limit: 100 }) });
  private readonly chartData = latestValue(this.chart);
  protected readonly series = computed(() => {
    const data = this.chartData();
    return data ? findingsByKind(data.points, bucketsOf(data.from, data.to, data.bucket)) : [];
  });
  protected readonly total = computed(() => this.chartData()?.total ?? 0);
  protected readonly totals = computed(() => totalsByKind(this.chartData()?.points ?? []));

  /** Pages loaded past the first with "Load more". */
  protected readonly more = signal<FindingItem[]>([]);
  protected readonly next = signal<string | null>(null);
  protected readonly loadingMore = signal(false);
  protected readonly items = computed(() => [...(this.first.value()?.items ?? []), ...this.more()]);

  constructor() {
    effect(() => {
      this.query();
      this.more.set([]);
    });
    effect(() => {
      const page = this.first.value();
      if (page && this.more().length === 0) this.next.set(page.next);
    });
  }

  protected readonly axisTime = (d: string) => {
    const bucket = this.chartData()?.bucket ?? 'hour';
    return bucket === 'day' ? d.slice(5, 10) : d.slice(11, 16);
  };

  protected async loadMore(): Promise<void> {
    const cursor = this.next();
    if (!cursor) return;
    this.loadingMore.set(true);
    try {
      const page = await firstValueFrom(this.api.findingList({ ...this.query(), limit: 100, cursor }));
      this.more.update((m) => [...m, ...page.items]);
      this.next.set(page.next);
    } finally {
      this.loadingMore.set(false);
    }
  }

  protected value(event: Event): string {
    return (event.target as HTMLInputElement | HTMLSelectElement).value;
  }
}
