import { HttpClient } from '@angular/common/http';
import { Injectable, inject } from '@angular/core';
import { Observable } from 'rxjs';

/** Shapes of GET /api/projections (Queries/AgentStack.Queries/Projections, docs/projections.md). */
export interface TableParity { table: string; rows: number; checksum: string; otherTable: string; otherRows: number; otherChecksum: string; equal: boolean; }
export interface ParityReport { spans: TableParity; traces: TableParity; equal: boolean; }
export interface RebuildProgress {
  version: number; phase: 'replaying' | 'switching' | 'done' | 'failed'; done: number; total: number; rate: number;
  etaSeconds: number | null; startedAt: string; finishedAt: string | null; parity: ParityReport | null; error: string | null;
}
export interface ProjectionState {
  name: string; position: number; lag: number; lastError: string | null; lagSeconds: number;
  state: 'running' | 'rebuilding' | 'paused'; rate: number; rebuild: RebuildProgress | null;
}
export interface ProjectionsStatus { logPosition: number; projections: ProjectionState[]; }

/** The projection operations API (admin scope). */
@Injectable({ providedIn: 'root' })
export class OperationsApi {
  private readonly http = inject(HttpClient);

  status(): Observable<ProjectionsStatus> { return this.http.get<ProjectionsStatus>('/api/projections'); }
  rebuild(name: string): Observable<ProjectionState> { return this.post(name, 'rebuild'); }
  pause(name: string): Observable<ProjectionState> { return this.post(name, 'pause'); }
  resume(name: string): Observable<ProjectionState> { return this.post(name, 'resume'); }

  private post(name: string, action: string): Observable<ProjectionState> {
    return this.http.post<ProjectionState>(`/api/projections/${encodeURIComponent(name)}/${action}`, null);
  }
}

/** Share of a rebuild done, 0–100. */
export function percent(rebuild: RebuildProgress): number {
  if (rebuild.phase === 'done') return 100;
  return rebuild.total > 0 ? Math.min(100, Math.floor((rebuild.done / rebuild.total) * 100)) : 0;
}

/** Seconds as "2 min 5 s", "40 s", or "—" when unknown. */
export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}
