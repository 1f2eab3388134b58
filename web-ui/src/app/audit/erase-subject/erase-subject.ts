import { HttpErrorResponse } from '@angular/common/http';
import { ChangeDetectionStrategy, Component, computed, inject, signal } from '@angular/core';
import { firstValueFrom } from 'rxjs';
import { ApiService } from '../../api/api.service';
import { SubjectErasure } from '../../api/models';

/**
 * Erases a subject's payloads (docs/privacy.md): the subject is typed, then confirmed by typing it again,
 * because erasure destroys keys and cannot be undone. Needs an admin key; the server answers 403 otherwise.
 * Hosted by the Audit page.
 */
@Component({
  selector: 'as-erase-subject',
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './erase-subject.html',
  styles: `
    :host { display: block; } form { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; }
    label { display: flex; flex-direction: column; gap: .2rem; font-size: .88rem; }
    .warning { border-left: 3px solid var(--error); padding-left: .5rem; }
    .error { color: var(--error); }
  `,
})
export class EraseSubject {
  private readonly api = inject(ApiService);
  protected readonly subject = signal('');
  protected readonly confirmation = signal('');
  /** 'edit' → 'confirm' (type it again) → 'erasing' → back to 'edit' with a result or an error. */
  protected readonly step = signal<'edit' | 'confirm' | 'erasing'>('edit');
  protected readonly result = signal<SubjectErasure | null>(null);
  protected readonly error = signal<string | null>(null);
  protected readonly canAsk = computed(() => this.subject().trim().length > 0 && this.subject().length <= 256);
  protected readonly confirmed = computed(() => this.confirmation() === this.subject());

  protected ask(): void {
    if (!this.canAsk()) return;
    this.confirmation.set('');
    this.result.set(null);
    this.error.set(null);
    this.step.set('confirm');
  }

  protected cancel(): void {
    this.step.set('edit');
  }

  protected async erase(): Promise<void> {
    if (!this.confirmed()) return;
    this.step.set('erasing');
    try {
      this.result.set(await firstValueFrom(this.api.eraseSubject(this.subject())));
      this.subject.set('');
    } catch (e) {
      this.error.set(describe(e));
    } finally {
      this.step.set('edit');
    }
  }

  protected value(event: Event): string {
    return (event.target as HTMLInputElement).value;
  }
}

function describe(e: unknown): string {
  if (e instanceof HttpErrorResponse) {
    if (e.status === 403 || e.status === 401) return 'Erasing needs an admin key of this project.';
    const detail = (e.error as { detail?: string; errors?: Record<string, string[]> } | null);
    return detail?.errors ? Object.values(detail.errors).flat().join(' ') : detail?.detail ?? `The server answered ${e.status}.`;
  }
  return 'The request failed.';
}
