import { ChangeDetectionStrategy, Component, computed, inject } from '@angular/core';
import { rxResource } from '@angular/core/rxjs-interop';
import { RouterLink } from '@angular/router';
import { Color, LegendPosition, NgxChartsModule, ScaleType } from '@swimlane/ngx-charts';
import { ApiService } from '../api/api.service';
import { formatMs, formatUsd } from '../shared/format';
import { TimeRangePicker } from '../shared/time-range-picker';
import { TimeRangeService } from '../shared/time-range.service';
import { latestValue } from '../shared/latest-value';
import { bucketsOf, errorRateSeries, latencyBubbles, modelLatencyGroups, securityTrend, stackedByModel } from './chart-data';

@Component({
  selector: 'as-overview',
  imports: [NgxChartsModule, TimeRangePicker, RouterLink],
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './overview.html',
  styleUrl: './overview.css',
})
export class Overview {
  private readonly api = inject(ApiService);
  protected readonly ranges = inject(TimeRangeService);
  protected readonly formatUsd = formatUsd;
  protected readonly formatMs = formatMs;
  protected readonly below = LegendPosition.Below;

  protected readonly usage = rxResource({ params: () => this.ranges.range(), stream: ({ params }) => this.api.usage(params) });
  protected readonly security = rxResource({ params: () => this.ranges.range(), stream: ({ params }) => this.api.security(params) });
  protected readonly latency = rxResource({ params: () => this.ranges.range(), stream: ({ params }) => this.api.latency(params) });
  protected readonly errors = rxResource({ params: () => this.ranges.range(), stream: ({ params }) => this.api.errors(params) });
  protected readonly models = rxResource({ params: () => this.ranges.range(), stream: ({ params }) => this.api.models(params) });

  // The charts read the latest answer, kept while a new range loads: a range change then updates each
  // chart in place rather than emptying it and creating it again (see latestValue).
  private readonly usageData = latestValue(this.usage);
  private readonly securityData = latestValue(this.security);
  private readonly latencyData = latestValue(this.latency);
  private readonly errorData = latestValue(this.errors);
  private readonly modelData = latestValue(this.models);
  /** A new range is on its way (aria-busy on the charts until every answer is in). */
  protected readonly loading = computed(() =>
    [this.usage, this.security, this.latency, this.errors, this.models].some((r) => r.isLoading()));

  protected readonly usagePoints = computed(() => this.usageData()?.points ?? []);
  private readonly usageBuckets = computed(() => {
    const usage = this.usageData();
    return usage ? bucketsOf(usage.from, usage.to, usage.bucket) : [];
  });
  protected readonly costSeries = computed(() => stackedByModel(this.usagePoints(), (p) => p.costUsd, this.usageBuckets()));
  protected readonly tokenSeries = computed(() => stackedByModel(this.usagePoints(), (p) => p.inputTokens + p.outputTokens, this.usageBuckets()));
  protected readonly securityDays = computed(() => this.securityData()?.days ?? []);
  protected readonly securitySeries = computed(() => securityTrend(this.securityDays()));
  protected readonly hasFindings = computed(() => (this.securityData()?.totalFindings ?? 0) > 0);
  protected readonly latencyPoints = computed(() => this.latencyData()?.points ?? []);
  protected readonly latencySeries = computed(() => latencyBubbles(this.latencyPoints()));
  protected readonly errorPoints = computed(() => this.errorData()?.points ?? []);
  private readonly errorBuckets = computed(() => {
    const errors = this.errorData();
    return errors ? bucketsOf(errors.from, errors.to, errors.bucket) : [];
  });
  protected readonly errorSeries = computed(() => errorRateSeries(this.errorPoints(), this.errorBuckets()));
  protected readonly modelRows = computed(() => this.modelData()?.models ?? []);
  protected readonly modelSeries = computed(() => modelLatencyGroups(this.modelRows()));

  protected readonly totals = computed(() => {
    const points = this.usagePoints();
    const errors = this.errorPoints();
    return {
      cost: points.reduce((s, p) => s + p.costUsd, 0),
      tokens: points.reduce((s, p) => s + p.inputTokens + p.outputTokens, 0),
      traces: errors.reduce((s, p) => s + p.traces, 0),
      errors: errors.reduce((s, p) => s + p.errors, 0),
    };
  });

  protected readonly colors = scheme('models', ['#1f6feb', '#e3a008', '#1a7f37', '#cf222e', '#8250df', '#0a8ea0', '#bf5700', '#57606a']);
  protected readonly securityColors = scheme('security', ['#8250df', '#cf222e', '#e3a008']);
  protected readonly scatterColors = scheme('scatter', ['#1f6feb', '#cf222e']);
  protected readonly errorColors = scheme('errors', ['#cf222e']);

  protected readonly axisTime = (d: Date | string) => {
    const date = d instanceof Date ? d : new Date(d);
    const bucket = this.usageData()?.bucket ?? this.errorData()?.bucket ?? 'hour';
    return bucket === 'day' ? date.toISOString().slice(5, 10) : date.toISOString().slice(11, 16);
  };
  // Three significant digits below $1: agent costs are fractions of a cent, and fixed decimals
  // printed the same label on neighbouring ticks.
  protected readonly axisUsd = (v: number) => (v >= 1 ? `$${v.toFixed(2)}` : `$${Number(v.toPrecision(3))}`);
}

function scheme(name: string, domain: string[]): Color {
  return { name, selectable: true, group: ScaleType.Ordinal, domain };
}
