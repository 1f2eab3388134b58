import { HttpClient } from '@angular/common/http';
import { Injectable, inject } from '@angular/core';
import { Observable } from 'rxjs';

/** Shapes of the administration API (Commands/AgentStack.Access, docs/administration.md). */
export interface ProjectSummary { project: string; displayName: string; createdAt: string; archivedAt: string | null; }
export interface KeySummary {
  keyId: string; prefix: string; scopes: string[]; createdAt: string; expiresAt: string | null; revokedAt: string | null;
  state: 'active' | 'expired' | 'revoked';
}
/** A new key: the secret is in this answer only. */
export interface CreatedKey {
  project: string; keyId: string; scopes: string[]; secret: string; prefix: string; expiresAt: string | null;
  rotatedFrom?: string | null; oldKeyExpiresAt?: string | null;
}

export const AllScopes = ['ingest', 'read', 'admin'] as const;

@Injectable({ providedIn: 'root' })
export class AdminService {
  private readonly http = inject(HttpClient);

  private keysUrl(project: string): string {
    return `/api/projects/${encodeURIComponent(project)}/keys`;
  }

  projects(): Observable<ProjectSummary[]> {
    return this.http.get<ProjectSummary[]>('/api/projects');
  }

  createProject(name: string, displayName: string | null): Observable<CreatedKey> {
    return this.http.post<CreatedKey>('/api/projects', { name, displayName });
  }

  keys(project: string): Observable<KeySummary[]> {
    return this.http.get<KeySummary[]>(this.keysUrl(project));
  }

  issue(project: string, scopes: string[], expiresAt: string | null): Observable<CreatedKey> {
    return this.http.post<CreatedKey>(this.keysUrl(project), { scopes, expiresAt });
  }

  revoke(project: string, keyId: string): Observable<void> {
    return this.http.delete<void>(`${this.keysUrl(project)}/${encodeURIComponent(keyId)}`);
  }

  rotate(project: string, keyId: string, overlapSeconds: number): Observable<CreatedKey> {
    return this.http.post<CreatedKey>(`${this.keysUrl(project)}/${encodeURIComponent(keyId)}/rotate`, { overlapSeconds });
  }
}
