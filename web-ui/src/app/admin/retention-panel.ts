import { ChangeDetectionStrategy, Component, inject, input, linkedSignal, signal } from '@angular/core';
import { HttpErrorResponse } from '@angular/common/http';
import { rxResource } from '@angular/core/rxjs-interop';
import { FormsModule } from '@angular/forms';
import { firstValueFrom } from 'rxjs';
import { RetentionService } from './retention.service';

/**
 * Retention of a project (issue 17.3, docs/retention.md): the policy in days (empty keeps data forever), who set it,
 * and what the retention worker removed (payload keys destroyed, analytics rows expired) in its latest runs.
 */
@Component({
  selector: 'as-retention-panel',
  imports: [FormsModule],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <section class="card" aria-labelledby="retention-title">
      <h2 id="retention-title">Retention</h2>
      @if (status.value(); as s) {
        <p data-test="retention-policy">
          @if (s.days !== null) {
            Spans older than <strong>{{ s.days }} days</strong> have their payloads erased and their analytics rows deleted.
          } @else {
            Data is kept forever.
          }
          @if (s.setAt) { <span class="hint">Set {{ s.setAt }} by <code>{{ s.setBy }}</code>.</span> }
        </p>
      }
      <form class="set" (ngSubmit)="save()" aria-label="Set retention">
        <label for="retention-days">Days (empty: keep forever)</label>
        <input id="retention-days" name="retention-days" type="number" min="1" max="36500" [ngModel]="days()" (ngModelChange)="days.set($event)">
        <button type="submit" class="primary" [disabled]="busy()">Save</button>
      </form>
      @if (error(); as message) {
        <p class="status-error" role="alert">{{ message }}</p>
      }
      <table>
        <thead><tr><th>Run</th><th>Days</th><th>Cutoff</th><th>Keys destroyed</th><th>Spans expired</th><th>Traces expired</th><th>Findings deleted</th></tr></thead>
        <tbody>
          @for (run of status.value()?.runs ?? []; track run.position) {
            <tr data-test="retention-run">
              <td>{{ run.appliedAt }}</td><td>{{ run.retentionDays }}</td><td>{{ run.cutoff }}</td>
              <td>{{ run.keysDestroyed }}</td><td>{{ run.spansExpired }}</td><td>{{ run.tracesExpired }}</td><td>{{ run.findingsExpired }}</td>
            </tr>
          } @empty {
            <tr><td colspan="6">Retention has removed nothing yet.</td></tr>
          }
        </tbody>
      </table>
    </section>
  `,
  styles: `
    .card { background: #fff; border: 1px solid #d8e0ea; border-radius: 6px; padding: 1rem 1.25rem; margin-top: 1rem; }
    .set { display: flex; align-items: end; gap: 1rem; margin-bottom: 1rem; }
    .set input { width: 7rem; }
    table { width: 100%; border-collapse: collapse; font-size: .9rem; }
    th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #eef2f6; }
  `,
})
export class RetentionPanel {
  private readonly retention = inject(RetentionService);

  readonly project = input.required<string>();
  protected readonly busy = signal(false);
  protected readonly error = signal<string | null>(null);
  protected readonly status = rxResource({
    params: () => this.project(),
    stream: ({ params }) => this.retention.status(params),
  });
  /** The form's value: the stored policy until the user edits it. */
  protected readonly days = linkedSignal<number | null>(() => this.status.value()?.days ?? null);

  protected async save(): Promise<void> {
    this.busy.set(true);
    this.error.set(null);
    try {
      const days = this.days();
      await firstValueFrom(this.retention.set(this.project(), days === null || `${days}` === '' ? null : Number(days)));
    } catch (e) {
      this.error.set(e instanceof HttpErrorResponse
        ? `The server answered ${e.status}: ${Object.values((e.error as { errors?: Record<string, string[]> } | null)?.errors ?? {}).flat().join(' ') || e.statusText}`
        : 'The request failed.');
    } finally {
      this.busy.set(false);
      this.status.reload();
    }
  }
}
