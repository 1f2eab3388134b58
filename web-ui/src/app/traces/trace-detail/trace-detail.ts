import { ChangeDetectionStrategy, Component, computed, inject, input, signal } from '@angular/core';
import { rxResource } from '@angular/core/rxjs-interop';
import { RouterLink } from '@angular/router';
import { ApiService } from '../../api/api.service';
import { SpanView } from '../../api/models';
import { formatMs, formatUsd } from '../../shared/format';
import { SpanInspector } from '../span-inspector/span-inspector';
import { waterfall } from '../waterfall';
import { spansFromEvents } from '../../replay/replay-state';

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
  /**
   * A run still in progress grows live (issue 16): while the trace has open spans, the replay endpoint's live feed
   * pushes every event as it is recorded, and the spans it carries (exactly as recorded) take the place of the
   * projected ones, so new steps show at once, before the analytics tables have them.
   */
  protected readonly feed = rxResource({
    params: () => (this.trace.value()?.spans ?? []).some((s) => !s.endTime) ? this.traceId() : undefined,
    stream: ({ params }) => this.api.followReplay(params),
  });
  protected readonly live = computed(() => this.feed.value()?.live ?? false);
  protected readonly spans = computed<SpanView[]>(() => {
    const recorded = spansFromEvents(this.feed.value()?.events ?? []);
    const pushed = new Set(recorded.map((s) => s.spanId));
    return [...(this.trace.value()?.spans ?? []).filter((s) => !pushed.has(s.spanId)), ...recorded];
  });
  protected readonly rows = computed(() => waterfall(this.spans()));
  /** A re-run (issue 16) names the trace it re-runs on its root span: link both to the comparison view. */
  protected readonly rerunOf = computed(() => {
    const attributes = this.rows()[0]?.span.attributes as Record<string, unknown> | null | undefined;
    const of = attributes?.['agentstack.rerun.of'];
    return typeof of === 'string' ? { traceId: of, step: attributes?.['agentstack.rerun.step'] } : null;
  });
  protected readonly selectedId = signal<string | null>(null);
  protected readonly selected = computed<SpanView | null>(() => {
    const rows = this.rows();
    return rows.find((r) => r.span.spanId === this.selectedId())?.span ?? rows[0]?.span ?? null;
  });
  protected readonly selectedFindings = computed(() => (this.findings.value() ?? []).filter((f) => f.spanId === this.selected()?.spanId));
  protected readonly totals = computed(() => {
    const spans = this.spans();
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
