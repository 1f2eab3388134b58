import { ChangeDetectionStrategy, Component, computed, inject, signal } from '@angular/core';
import { HttpErrorResponse } from '@angular/common/http';
import { rxResource } from '@angular/core/rxjs-interop';
import { FormsModule } from '@angular/forms';
import { firstValueFrom } from 'rxjs';
import { AuthService } from '../auth/auth.service';
import { AdminService, AllScopes, CreatedKey } from './admin.service';
import { RetentionPanel } from './retention-panel';

/**
 * Projects and keys (issue 17): issue a key with scopes and an optional expiry, list keys by prefix, revoke,
 * rotate with an overlap. Needs a key with the admin scope; the secret of a new key is shown once.
 */
@Component({
  selector: 'as-admin-page',
  imports: [FormsModule, RetentionPanel],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <h1>Projects and keys</h1>
    @if (!isAdmin()) {
      <p class="status-error" role="alert">This page needs a project key with the admin scope. Sign in with one to manage keys.</p>
    } @else {
      <section class="card" aria-labelledby="keys-title">
        <h2 id="keys-title">Keys of project <strong>{{ project() }}</strong></h2>
        <form class="issue" (ngSubmit)="issue()" aria-label="Issue a key">
          <fieldset>
            <legend>Scopes</legend>
            @for (scope of allScopes; track scope) {
              <label><input type="checkbox" [name]="'scope-' + scope" [checked]="scopes().includes(scope)" (change)="toggle(scope)"> {{ scope }}</label>
            }
          </fieldset>
          <label for="expires">Expires (optional)</label>
          <input id="expires" name="expires" type="datetime-local" [ngModel]="expires()" (ngModelChange)="expires.set($event)">
          <button type="submit" class="primary" [disabled]="busy() || scopes().length === 0">Issue key</button>
        </form>
        @if (created(); as key) {
          <div class="secret" role="status">
            <p>New key <code>{{ key.keyId }}</code>{{ key.rotatedFrom ? ' (replaces ' + key.rotatedFrom + ')' : '' }}. Copy the secret now: it is not shown again.</p>
            <code class="value" data-test="secret">{{ key.secret }}</code>
          </div>
        }
        @if (error(); as message) {
          <p class="status-error" role="alert">{{ message }}</p>
        }
        <table>
          <thead><tr><th>Key</th><th>Prefix</th><th>Scopes</th><th>Created</th><th>Expires</th><th>State</th><th></th></tr></thead>
          <tbody>
            @for (key of keys.value() ?? []; track key.keyId) {
              <tr [attr.data-key]="key.keyId">
                <td><code>{{ key.keyId }}</code></td>
                <td><code>{{ key.prefix }}…</code></td>
                <td>{{ key.scopes.join(', ') }}</td>
                <td>{{ key.createdAt }}</td>
                <td>{{ key.expiresAt ?? '–' }}</td>
                <td class="state">{{ key.state }}</td>
                <td>
                  @if (key.state === 'active') {
                    <button type="button" (click)="rotate(key.keyId)" [disabled]="busy()">Rotate</button>
                    <button type="button" class="danger" (click)="revoke(key.keyId)" [disabled]="busy()">Revoke</button>
                  }
                </td>
              </tr>
            } @empty {
              <tr><td colspan="7">No keys.</td></tr>
            }
          </tbody>
        </table>
        <p class="hint">Rotating issues a key with the same scopes; the old key keeps working for
          <input type="number" min="0" max="2592000" aria-label="Overlap in seconds" [ngModel]="overlap()" (ngModelChange)="overlap.set($event)"> seconds.</p>
      </section>
      <as-retention-panel [project]="project()" />
    }
  `,
  styles: `
    .card { background: #fff; border: 1px solid #d8e0ea; border-radius: 6px; padding: 1rem 1.25rem; }
    .issue { display: flex; flex-wrap: wrap; align-items: end; gap: 1rem; margin-bottom: 1rem; }
    fieldset { border: 1px solid #d8e0ea; display: flex; gap: .75rem; }
    table { width: 100%; border-collapse: collapse; font-size: .9rem; }
    th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #eef2f6; }
    .secret { background: #fff8e1; border: 1px solid #f0c36d; padding: .5rem .75rem; margin-bottom: 1rem; }
    .secret .value { user-select: all; word-break: break-all; }
    .danger { color: #a40000; }
    .hint input { width: 6rem; }
  `,
})
export class AdminPage {
  private readonly admin = inject(AdminService);
  private readonly auth = inject(AuthService);

  protected readonly allScopes = AllScopes;
  protected readonly isAdmin = computed(() => this.auth.identity()?.scopes.includes('admin') ?? false);
  protected readonly project = computed(() => this.auth.identity()?.project ?? 'default');
  protected readonly scopes = signal<string[]>(['ingest']);
  protected readonly expires = signal('');
  protected readonly overlap = signal(3600);
  protected readonly busy = signal(false);
  protected readonly created = signal<CreatedKey | null>(null);
  protected readonly error = signal<string | null>(null);
  protected readonly keys = rxResource({
    params: () => (this.isAdmin() ? this.project() : undefined),
    stream: ({ params }) => this.admin.keys(params),
  });

  protected toggle(scope: string): void {
    this.scopes.update((s) => (s.includes(scope) ? s.filter((x) => x !== scope) : [...s, scope]));
  }

  protected issue(): Promise<void> {
    const expires = this.expires() ? new Date(this.expires()).toISOString() : null;
    return this.run(async () => this.created.set(await firstValueFrom(this.admin.issue(this.project(), this.scopes(), expires))));
  }

  protected revoke(keyId: string): Promise<void> {
    return this.run(async () => { await firstValueFrom(this.admin.revoke(this.project(), keyId)); this.created.set(null); });
  }

  protected rotate(keyId: string): Promise<void> {
    return this.run(async () => this.created.set(await firstValueFrom(this.admin.rotate(this.project(), keyId, Number(this.overlap())))));
  }

  private async run(action: () => Promise<void>): Promise<void> {
    this.busy.set(true);
    this.error.set(null);
    try {
      await action();
    } catch (e) {
      this.error.set(describe(e));
    } finally {
      this.busy.set(false);
      this.keys.reload();
    }
  }
}

function describe(e: unknown): string {
  if (e instanceof HttpErrorResponse) {
    const body = e.error as { detail?: string; errors?: Record<string, string[]> } | null;
    const fields = body?.errors ? Object.values(body.errors).flat().join(' ') : '';
    return `The server answered ${e.status}: ${fields || body?.detail || e.statusText}`;
  }
  return 'The request failed.';
}
