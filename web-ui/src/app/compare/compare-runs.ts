import { ChangeDetectionStrategy, Component, computed, inject, input, signal } from '@angular/core';
import { rxResource } from '@angular/core/rxjs-interop';
import { RouterLink } from '@angular/router';
import { ApiService } from '../api/api.service';
import { AlignedStep, RunComparison } from '../api/models';
import { formatMs, formatUsd } from '../shared/format';
import { JsonView } from '../shared/json-view';

/** "+3", "−0.25 s": a difference, right minus left. */
export function signed(value: number, format: (v: number) => string = (v) => String(v)): string {
  if (value === 0) return '±0';
  return (value > 0 ? '+' : '−') + format(Math.abs(value));
}

/** The step shown on opening: the first divergence, else the first step. */
export function initialStep(comparison: RunComparison | undefined): number {
  return comparison?.firstDivergence?.index ?? 0;
}

/**
 * Two runs side by side (issue 16), step-aligned by the server (GET .../compare): the first divergence in prompts,
 * tool calls or outputs highlighted and opened, and the token, cost and latency differences.
 */
@Component({
  selector: 'as-compare-runs',
  imports: [RouterLink, JsonView],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <p><a routerLink="/traces">← Traces</a></p>
    <h1>Compare runs</h1>
    @if (!left() || !right()) {
      <p class="empty">Pick two traces in the trace list (the checkboxes), or open "compare with previous" in a session.</p>
    } @else if (comparison.error()) {
      <p class="empty" role="alert">One of the two traces was not found in this project.</p>
    } @else if (comparison.value(); as c) {
      <section class="card sides" aria-label="Totals">
        <table>
          <thead><tr><th></th><th>Left</th><th>Right</th><th>Difference</th></tr></thead>
          <tbody>
            <tr><th>Run</th>
              <td><a [routerLink]="['/traces', c.left.traceId]">{{ c.left.name }}</a> <span class="muted">{{ c.left.traceId }}</span></td>
              <td><a [routerLink]="['/traces', c.right.traceId]">{{ c.right.name }}</a> <span class="muted">{{ c.right.traceId }}</span>
                @if (c.right.rerunOf) { <span class="tag">re-run of {{ c.right.rerunOf === c.left.traceId ? 'left' : c.right.rerunOf }}</span> }</td>
              <td></td></tr>
            <tr><th>Steps</th><td>{{ c.left.spanCount }}</td><td>{{ c.right.spanCount }}</td><td>{{ signed(c.right.spanCount - c.left.spanCount) }}</td></tr>
            <tr><th>Latency</th><td>{{ formatMs(c.left.durationMs) }}</td><td>{{ formatMs(c.right.durationMs) }}</td>
              <td data-testid="compare-latency-delta">{{ signed(c.durationMsDelta, formatMs) }}</td></tr>
            <tr><th>Tokens (in / out)</th><td>{{ c.left.inputTokens }} / {{ c.left.outputTokens }}</td><td>{{ c.right.inputTokens }} / {{ c.right.outputTokens }}</td>
              <td data-testid="compare-token-delta">{{ signed(c.inputTokensDelta) }} / {{ signed(c.outputTokensDelta) }}</td></tr>
            <tr><th>Cost</th><td>{{ formatUsd(c.left.costUsd) }}</td><td>{{ formatUsd(c.right.costUsd) }}</td>
              <td data-testid="compare-cost-delta">{{ signed(c.costUsdDelta, formatUsd) }}</td></tr>
            <tr><th>Errors</th><td>{{ c.left.errorCount }}</td><td>{{ c.right.errorCount }}</td><td>{{ signed(c.right.errorCount - c.left.errorCount) }}</td></tr>
          </tbody>
        </table>
      </section>
      @if (c.firstDivergence; as d) {
        <p class="divergence" role="status" data-testid="compare-divergence">First divergence at step {{ d.index + 1 }}:
          <strong>{{ d.label }}</strong> of {{ (c.steps[d.index].left ?? c.steps[d.index].right)?.name }}</p>
      } @else {
        <p class="same" role="status" data-testid="compare-divergence">The two runs match step for step.</p>
      }
      <div class="layout">
        <ol class="card steps" aria-label="Aligned steps">
          @for (s of c.steps; track s.index) {
            <li>
              <button type="button" [class.selected]="s.index === selectedIndex()" [class.diverges]="s.index === c.firstDivergence?.index"
                [class.differs]="s.differences.length > 0" [attr.data-step]="s.index" [attr.aria-pressed]="s.index === selectedIndex()"
                [attr.aria-label]="'Step ' + (s.index + 1) + ': ' + stepName(s)" (click)="selected.set(s.index)">
                <span class="n">{{ s.index + 1 }}</span>
                <span class="side">@if (s.left; as l) { <span class="kind">{{ l.kind }}</span> {{ l.name }} <span class="muted">{{ formatMs(l.durationMs) }}</span> } @else { <span class="muted">(none)</span> }</span>
                <span class="side">@if (s.right; as r) { <span class="kind">{{ r.kind }}</span> {{ r.name }} <span class="muted">{{ formatMs(r.durationMs) }}</span> } @else { <span class="muted">(none)</span> }</span>
                <span class="diff">{{ s.differences.join(', ') }}</span>
              </button>
            </li>
          }
        </ol>
        @if (step(); as s) {
          <section class="card detail" aria-label="Step side by side" data-testid="compare-step">
            <h2>Step {{ s.index + 1 }}: {{ stepName(s) }} @if (s.differences.length) { <span class="differs-note">differs in {{ s.differences.join(', ') }}</span> }</h2>
            <div class="pair">
              <div>
                <h3>Left</h3>
                @if (s.left; as l) {
                  <p class="muted">{{ l.status ?? 'running' }} · {{ formatMs(l.durationMs) }} · {{ (l.inputTokens ?? 0) + (l.outputTokens ?? 0) }} tokens · {{ formatUsd(l.costUsd) }}</p>
                  <h4 [class.changed]="s.differences.includes('input')">Input</h4><as-json-view [value]="l.input" label="input" />
                  <h4 [class.changed]="s.differences.includes('output')">Output</h4><as-json-view [value]="l.output" label="output" />
                } @else { <p class="muted">Not in the left run.</p> }
              </div>
              <div>
                <h3>Right</h3>
                @if (s.right; as r) {
                  <p class="muted">{{ r.status ?? 'running' }} · {{ formatMs(r.durationMs) }} · {{ (r.inputTokens ?? 0) + (r.outputTokens ?? 0) }} tokens · {{ formatUsd(r.costUsd) }}</p>
                  <h4 [class.changed]="s.differences.includes('input')">Input</h4><as-json-view [value]="r.input" label="input" />
                  <h4 [class.changed]="s.differences.includes('output')">Output</h4><as-json-view [value]="r.output" label="output" />
                } @else { <p class="muted">Not in the right run.</p> }
              </div>
            </div>
          </section>
        }
      </div>
    }
  `,
  styles: `
    .sides table { width: 100%; border-collapse: collapse; } .sides th, .sides td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid var(--line); }
    .tag { font-size: .75rem; background: #e8f1fb; padding: .1rem .4rem; border-radius: 4px; }
    .divergence { background: #fff4e5; border: 1px solid #f5b971; border-radius: 8px; padding: .6rem 1rem; }
    .same { background: #eaf7ee; border: 1px solid #9fd8b0; border-radius: 8px; padding: .6rem 1rem; }
    .layout { display: grid; grid-template-columns: minmax(28rem, 1fr) 1.3fr; gap: 1rem; align-items: start; }
    .steps { list-style: none; margin: 0; padding: .25rem; max-height: 75vh; overflow: auto; }
    .steps button { display: grid; grid-template-columns: 2rem 1fr 1fr 6rem; gap: .5rem; width: 100%; text-align: left; background: none; border: 0;
      border-left: 3px solid transparent; padding: .3rem .4rem; cursor: pointer; font: inherit; color: inherit; }
    .steps button.differs { border-left-color: #f5b971; }
    .steps button.diverges { background: #fff4e5; border-left-color: #d9480f; font-weight: 600; }
    .steps button.selected { outline: 2px solid #7cc4ff; }
    .kind { font-size: .75rem; color: var(--muted); } .diff { font-size: .8rem; color: #b35c00; }
    .pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; } .pair > div { min-width: 0; }
    h4.changed { color: #d9480f; } h4.changed::after { content: ' (differs)'; font-weight: 400; }
    .differs-note { font-size: .85rem; color: #b35c00; font-weight: 400; }
  `,
})
export class CompareRuns {
  private readonly api = inject(ApiService);
  /** Query parameters `?left=&right=`: the two trace ids. */
  readonly left = input<string>();
  readonly right = input<string>();
  protected readonly formatMs = formatMs;
  protected readonly formatUsd = formatUsd;
  protected readonly signed = signed;
  protected readonly comparison = rxResource({
    params: () => (this.left() && this.right() ? { left: this.left()!, right: this.right()! } : undefined),
    stream: ({ params }) => this.api.compare(params.left, params.right),
  });
  protected readonly selected = signal<number | null>(null);
  protected readonly selectedIndex = computed(() => this.selected() ?? initialStep(this.comparison.value()));
  protected readonly step = computed<AlignedStep | null>(() => this.comparison.value()?.steps[this.selectedIndex()] ?? null);

  protected stepName(s: AlignedStep): string {
    return (s.left ?? s.right)?.name ?? '';
  }
}
