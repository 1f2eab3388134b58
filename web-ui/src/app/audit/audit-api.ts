import { HttpClient, HttpParams } from '@angular/common/http';
import { Injectable, inject } from '@angular/core';
import { Observable, map } from 'rxjs';
import { AuthService } from '../auth/auth.service';

/** One break in a stream's hash chain, or in the log against a checkpoint (docs/audit.md). */
export interface AuditBreak {
  stream: string;
  version: number;
  expectedHash: string;
  foundHash: string;
  kind: string;
  position?: number | null;
  detail?: string | null;
}

export interface CheckpointCheck {
  treeSize: number;
  rootHash: string;
  timestamp: string;
  signatureValid: boolean | null;
  computedRoot: string | null;
  consistent: boolean;
}

export interface VerificationReport {
  valid: boolean;
  eventsChecked: number;
  breaks: AuditBreak[];
  checkpoint: CheckpointCheck | null;
  breaksOmitted: number;
}

export interface Checkpoint {
  treeSize: number;
  rootHash: string;
  timestamp: string;
  keyId: string;
  algorithm: string;
  signature: string;
}

export interface AuditScope {
  traceId?: string;
  from?: string;
  to?: string;
}

function params(scope: AuditScope): HttpParams {
  let p = new HttpParams();
  for (const [key, value] of Object.entries(scope)) if (value) p = p.set(key, value);
  return p;
}

/** The audit API: verification and signed exports of the signed-in project, the deployment's checkpoints. */
@Injectable({ providedIn: 'root' })
export class AuditApi {
  private readonly http = inject(HttpClient);
  private readonly auth = inject(AuthService);

  private base(): string {
    return `/api/projects/${encodeURIComponent(this.auth.identity()?.project ?? 'default')}/audit`;
  }

  verify(scope: AuditScope): Observable<VerificationReport> {
    return this.http.get<VerificationReport>(`${this.base()}/verify`, { params: params(scope) });
  }

  /** The signed export as a file (fetched, so a pasted key's Bearer header goes with it). */
  export(scope: AuditScope): Observable<Blob> {
    return this.http.get(`${this.base()}/export`, { params: params(scope), responseType: 'blob' });
  }

  checkpoints(limit = 10): Observable<Checkpoint[]> {
    return this.http.get<{ items: Checkpoint[] }>('/api/audit/checkpoints', { params: { limit } }).pipe(map((r) => r.items));
  }

  publicKey(): Observable<{ algorithm: string; keyId: string; publicKey: string }> {
    return this.http.get<{ algorithm: string; keyId: string; publicKey: string }>('/api/audit/public-key');
  }
}
