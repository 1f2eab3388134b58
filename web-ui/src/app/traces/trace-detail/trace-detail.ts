import { ChangeDetectionStrategy, Component, computed, inject, input, signal } from '@angular/core';
import { rxResource } from '@angular/core/rxjs-interop';
import { RouterLink } from '@angular/router';
import { ApiService } from '../../api/api.service';
import { SpanView } from '../../api/models';
import { formatMs, formatUsd } from '../../shared/format';
import { SpanInspector } from '../span-inspector/span-inspector';
import { waterfall } from '../waterfall';

@Component({
  selector: 'as-trace-detail',
  imports: [RouterLink, SpanInspector],
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './trace-detail.html',
  styleUrl: './trace-detail.css',
})
export class TraceDetailPage {
  private readonly api = inject(ApiService);
  /** Route parameter. */
  readonly traceId = input.required<string>();
  protected readonly formatMs = formatMs;
  protected readonly formatUsd = formatUsd;

  protected readonly trace = rxResource({ params: () => this.traceId(), stream: ({ params }) => this.api.trace(params) });
  protected readonly findings = rxResource({ params: () => this.traceId(), stream: ({ params }) => this.api.findings(params) });
  protected readonly rows = computed(() => waterfall(this.trace.value()?.spans ?? []));
  protected readonly selectedId = signal<string | null>(null);
  protected readonly selected = computed<SpanView | null>(() => {
    const rows = this.rows();
    return rows.find((r) => r.span.spanId === this.selectedId())?.span ?? rows[0]?.span ?? null;
  });
  protected readonly selectedFindings = computed(() => (this.findings.value() ?? []).filter((f) => f.spanId === this.selected()?.spanId));
  protected readonly totals = computed(() => {
    const spans = this.trace.value()?.spans ?? [];
    const start = Math.min(...spans.map((s) => Date.parse(s.startTime)));
    const end = Math.max(...spans.map((s) => Date.parse(s.endTime ?? s.startTime)));
    return {
      name: this.rows()[0]?.span.name ?? '',
      durationMs: spans.length ? end - start : 0,
      tokens: spans.reduce((s, x) => s + (x.inputTokens ?? 0) + (x.outputTokens ?? 0), 0),
      cost: spans.reduce((s, x) => s + (x.costUsd ?? 0), 0),
      errors: spans.filter((x) => x.status === 'error').length,
    };
  });

  protected select(spanId: string): void {
    this.selectedId.set(spanId);
  }
}
