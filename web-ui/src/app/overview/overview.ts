import { ChangeDetectionStrategy, Component, computed, inject } from '@angular/core';
import { rxResource } from '@angular/core/rxjs-interop';
import { RouterLink } from '@angular/router';
import { Color, LegendPosition, NgxChartsModule, ScaleType } from '@swimlane/ngx-charts';
import { ApiService } from '../api/api.service';
import { formatMs, formatUsd } from '../shared/format';
import { TimeRangePicker } from '../shared/time-range-picker';
import { TimeRangeService } from '../shared/time-range.service';
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

  protected readonly usagePoints = computed(() => this.usage.value()?.points ?? []);
  private readonly usageBuckets = computed(() => {
    const usage = this.usage.value();
    return usage ? bucketsOf(usage.from, usage.to, usage.bucket) : [];
  });
  protected readonly costSeries = computed(() => stackedByModel(this.usagePoints(), (p) => p.costUsd, this.usageBuckets()));
  protected readonly tokenSeries = computed(() => stackedByModel(this.usagePoints(), (p) => p.inputTokens + p.outputTokens, this.usageBuckets()));
  protected readonly securitySeries = computed(() => securityTrend(this.security.value()?.days ?? []));
  protected readonly hasFindings = computed(() => (this.security.value()?.totalFindings ?? 0) > 0);
  protected readonly latencyPoints = computed(() => this.latency.value()?.points ?? []);
  protected readonly latencySeries = computed(() => latencyBubbles(this.latencyPoints()));
  protected readonly errorPoints = computed(() => this.errors.value()?.points ?? []);
  protected readonly errorSeries = computed(() => errorRateSeries(this.errorPoints()));
  protected readonly modelRows = computed(() => this.models.value()?.models ?? []);
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
  protected readonly securityColors = scheme('security', ['#8250df', '#cf222e']);
  protected readonly scatterColors = scheme('scatter', ['#1f6feb', '#cf222e']);
  protected readonly errorColors = scheme('errors', ['#cf222e']);

  protected readonly axisTime = (d: Date | string) => {
    const date = d instanceof Date ? d : new Date(d);
    const bucket = this.usage.value()?.bucket ?? 'hour';
    return bucket === 'day' ? date.toISOString().slice(5, 10) : date.toISOString().slice(11, 16);
  };
  protected readonly axisUsd = (v: number) => `$${v.toFixed(v < 1 ? 3 : 2)}`;
}

function scheme(name: string, domain: string[]): Color {
  return { name, selectable: true, group: ScaleType.Ordinal, domain };
}
