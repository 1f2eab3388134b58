import { ChangeDetectionStrategy, Component, DestroyRef, computed, inject, signal } from '@angular/core';
import { HttpErrorResponse } from '@angular/common/http';
import { takeUntilDestroyed } from '@angular/core/rxjs-interop';
import { EMPTY, Observable, Subject, catchError, merge, startWith, switchMap, timer } from 'rxjs';
import { OperationsApi, ProjectionState, ProjectionsStatus, formatEta, percent } from './operations-api';

/**
 * Operations (issue 14.6): every projection with its checkpoint, lag, rate and state; rebuild with a
 * live progress bar; pause and resume. Polls the status every second.
 */
@Component({
  selector: 'as-operations',
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './operations.html',
  styleUrl: './operations.css',
})
export class Operations {
  private readonly api = inject(OperationsApi);
  private readonly refresh = new Subject<void>();
  protected readonly percent = percent;
  protected readonly formatEta = formatEta;

  protected readonly status = signal<ProjectionsStatus | undefined>(undefined);
  protected readonly error = signal<string | null>(null);
  /** The action under way per projection, so its buttons are disabled until the answer is in. */
  protected readonly busy = signal<string | null>(null);
  protected readonly projections = computed(() => this.status()?.projections ?? []);

  constructor() {
    // The first answer is asked for at once, then every second; a failed poll shows its error and polling goes on.
    merge(timer(1000, 1000), this.refresh).pipe(
      startWith(0),
      switchMap(() => this.api.status().pipe(catchError((e: HttpErrorResponse) => { this.error.set(describe(e)); return EMPTY; }))),
      takeUntilDestroyed(inject(DestroyRef)),
    ).subscribe((s) => { this.status.set(s); this.error.set(null); });
  }

  protected rebuild(p: ProjectionState): void { this.act(p, this.api.rebuild(p.name)); }
  protected pause(p: ProjectionState): void { this.act(p, this.api.pause(p.name)); }
  protected resume(p: ProjectionState): void { this.act(p, this.api.resume(p.name)); }

  /** Only a projection itself (not one of its parts, named "name/part-of-parts") can be operated. */
  protected operable(p: ProjectionState): boolean { return !p.name.includes('/'); }

  private act(p: ProjectionState, action: Observable<ProjectionState>): void {
    this.busy.set(p.name);
    action.subscribe({
      next: () => { this.busy.set(null); this.refresh.next(); },
      error: (e: HttpErrorResponse) => { this.busy.set(null); this.error.set(describe(e)); this.refresh.next(); },
    });
  }
}

function describe(e: HttpErrorResponse): string {
  const problem = e.error as { title?: string; detail?: string } | null;
  if (e.status === 403) return 'Projections are operated with a key that has the admin scope.';
  return problem?.detail ?? problem?.title ?? `The server answered ${e.status}.`;
}
