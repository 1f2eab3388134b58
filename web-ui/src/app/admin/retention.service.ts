import { HttpClient } from '@angular/common/http';
import { Injectable, inject } from '@angular/core';
import { Observable } from 'rxjs';

/** One retention run that removed something (docs/retention.md). */
export interface RetentionRun {
  appliedAt: string; retentionDays: number; cutoff: string; keysDestroyed: number; spansExpired: number; tracesExpired: number; findingsExpired: number;
  position: number;
}
/** A project's retention policy (days; null keeps data forever) and its latest runs, newest first. */
export interface RetentionStatus { project: string; days: number | null; setAt: string | null; setBy: string | null; runs: RetentionRun[]; }

@Injectable({ providedIn: 'root' })
export class RetentionService {
  private readonly http = inject(HttpClient);

  private url(project: string): string {
    return `/api/projects/${encodeURIComponent(project)}/retention`;
  }

  status(project: string): Observable<RetentionStatus> {
    return this.http.get<RetentionStatus>(this.url(project));
  }

  set(project: string, days: number | null): Observable<RetentionStatus> {
    return this.http.put<RetentionStatus>(this.url(project), { days });
  }
}
