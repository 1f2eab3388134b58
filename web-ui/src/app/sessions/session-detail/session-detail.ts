import { ChangeDetectionStrategy, Component, inject, input } from '@angular/core';
import { rxResource } from '@angular/core/rxjs-interop';
import { RouterLink } from '@angular/router';
import { ApiService } from '../../api/api.service';
import { formatMs, formatTime, formatUsd } from '../../shared/format';

/** One session (issue 16): its traces in the order they started, its totals, and each run compared with the one before. */
@Component({
  selector: 'as-session-detail',
  imports: [RouterLink],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <p><a routerLink="/sessions">← Sessions</a></p>
    @if (session.error()) {
      <p class="empty" role="alert">No traces carry this session in this project.</p>
    } @else if (session.value(); as d) {
      <div class="head"><h1>Session {{ d.session.sessionId }}</h1><span class="muted">users: {{ d.session.userIds.join(', ') || '–' }}</span></div>
      <dl class="card totals" aria-label="Session totals">
        <div><dt>Traces</dt><dd data-testid="session-trace-count">{{ d.session.traceCount }}</dd></div>
        <div><dt>With errors</dt><dd>{{ d.session.errorCount }}</dd></div>
        <div><dt>Time in runs</dt><dd>{{ formatMs(d.session.durationMs) }}</dd></div>
        <div><dt>Input tokens</dt><dd data-testid="session-input-tokens">{{ d.session.inputTokens }}</dd></div>
        <div><dt>Output tokens</dt><dd>{{ d.session.outputTokens }}</dd></div>
        <div><dt>Cost</dt><dd data-testid="session-cost">{{ formatUsd(d.session.costUsd) }}</dd></div>
      </dl>
      <ol class="card traces" aria-label="Traces in order">
        @for (t of d.traces; track t.traceId; let i = $index) {
          <li [attr.data-trace-id]="t.traceId">
            <a [routerLink]="['/traces', t.traceId]">{{ t.name || t.traceId }}</a>
            <span class="muted">{{ formatTime(t.startTime) }} · {{ formatMs(t.durationMs) }} · {{ t.inputTokens + t.outputTokens }} tokens · {{ formatUsd(t.costUsd) }}</span>
            <span [class]="'status-' + t.status">{{ t.status }}</span>
            @if (i > 0) {
              <a class="compare" [routerLink]="['/compare']" [queryParams]="{ left: d.traces[i - 1].traceId, right: t.traceId }">compare with previous</a>
            }
          </li>
        }
      </ol>
    }
  `,
  styles: `
    .head { display: flex; align-items: baseline; gap: 1rem; } .head h1 { margin: 0 0 .75rem; }
    .totals { display: flex; gap: 2rem; flex-wrap: wrap; margin: 0 0 1rem; } .totals dt { font-size: .8rem; color: var(--muted); } .totals dd { margin: 0; font-weight: 600; }
    .traces li { display: flex; gap: 1rem; align-items: baseline; padding: .4rem 0; border-bottom: 1px solid var(--line); }
    .traces .compare { margin-left: auto; font-size: .85rem; }
  `,
})
export class SessionDetailPage {
  private readonly api = inject(ApiService);
  /** Route parameter. */
  readonly sessionId = input.required<string>();
  protected readonly formatMs = formatMs;
  protected readonly formatUsd = formatUsd;
  protected readonly formatTime = formatTime;
  protected readonly session = rxResource({ params: () => this.sessionId(), stream: ({ params }) => this.api.session(params) });
}
