import { ChangeDetectionStrategy, Component, inject, signal } from '@angular/core';
import { rxResource } from '@angular/core/rxjs-interop';
import { RouterLink } from '@angular/router';
import { ApiService } from '../../api/api.service';
import { formatMs, formatTime, formatUsd } from '../../shared/format';
import { TimeRangePicker } from '../../shared/time-range-picker';
import { TimeRangeService } from '../../shared/time-range.service';

/** Sessions (issue 16): conversations grouped by their `session.id`, newest first, with totals over their traces. */
@Component({
  selector: 'as-session-list',
  imports: [RouterLink, TimeRangePicker],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <div class="head">
      <h1>Sessions</h1>
      <as-time-range-picker />
    </div>
    <form class="filters card" role="search" aria-label="Filter sessions" (submit)="$event.preventDefault()">
      <label>User
        <input type="search" name="userId" aria-label="User id" placeholder="user.id" [value]="userId()" (change)="userId.set(value($event))">
      </label>
    </form>
    @if (sessions.error()) {
      <p class="status-error" role="alert">The sessions could not be loaded.</p>
    } @else if ((sessions.value()?.items ?? []).length === 0 && !sessions.isLoading()) {
      <p class="empty">No sessions in this range. Give your runs a <code>session.id</code> (the SDK's <code>span.SetSession(id)</code>, OpenInference's
        <code>session.id</code> or GenAI's <code>gen_ai.conversation.id</code>).</p>
    } @else {
      <table class="card" aria-label="Sessions">
        <thead><tr><th>Session</th><th>Users</th><th>Traces</th><th>Errors</th><th>First run</th><th>Last run</th><th>Time</th><th>Tokens</th><th>Cost</th></tr></thead>
        <tbody>
          @for (s of sessions.value()?.items ?? []; track s.sessionId) {
            <tr [attr.data-session-id]="s.sessionId">
              <td><a [routerLink]="['/sessions', s.sessionId]">{{ s.sessionId }}</a></td>
              <td>{{ s.userIds.join(', ') }}</td>
              <td>{{ s.traceCount }}</td>
              <td [class.status-error]="s.errorCount > 0">{{ s.errorCount }}</td>
              <td>{{ formatTime(s.firstStart) }}</td>
              <td>{{ formatTime(s.lastStart) }}</td>
              <td>{{ formatMs(s.durationMs) }}</td>
              <td>{{ s.inputTokens + s.outputTokens }}</td>
              <td>{{ formatUsd(s.costUsd) }}</td>
            </tr>
          }
        </tbody>
      </table>
    }
  `,
  styles: `
    .head { display: flex; align-items: center; gap: 1rem; margin-bottom: 1rem; }
    .head h1 { margin: 0; } .head as-time-range-picker { margin-left: auto; }
    .filters { display: flex; gap: 1rem; margin-bottom: 1rem; }
    .filters label { display: flex; flex-direction: column; gap: .2rem; font-size: .85rem; color: var(--muted); }
    table { width: 100%; border-collapse: collapse; padding: 0; } th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); }
  `,
})
export class SessionListPage {
  private readonly api = inject(ApiService);
  private readonly ranges = inject(TimeRangeService);
  protected readonly formatMs = formatMs;
  protected readonly formatUsd = formatUsd;
  protected readonly formatTime = formatTime;
  protected readonly userId = signal('');
  protected readonly sessions = rxResource({
    params: () => ({ ...this.ranges.range(), userId: this.userId().trim() }),
    stream: ({ params }) => this.api.sessions(params),
  });

  protected value(event: Event): string {
    return (event.target as HTMLInputElement).value;
  }
}
