import { HttpClient, HttpParams } from '@angular/common/http';
import { Injectable, inject } from '@angular/core';
import { Observable, map } from 'rxjs';
import { AuthService } from '../auth/auth.service';
import {
  ErrorRateSeries, FilterOptions, Finding, LatencyScatter, ModelLatencyList, ReplayEvent, SecuritySeries, SubjectErasure, TimeRange,
  TraceDetail, TraceList, TraceQuery, UsageSeries,
} from './models';

/** Parses the replay endpoint's NDJSON: one stored event a line. */
export function parseNdjson(text: string): ReplayEvent[] {
  return text.split('\n').filter((line) => line.trim().length > 0).map((line) => JSON.parse(line) as ReplayEvent);
}

function params(values: object): HttpParams {
  let p = new HttpParams();
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined && value !== null && value !== '') p = p.set(key, String(value));
  }
  return p;
}

@Injectable({ providedIn: 'root' })
export class ApiService {
  private readonly http = inject(HttpClient);
  private readonly auth = inject(AuthService);

  private base(): string {
    return `/api/projects/${encodeURIComponent(this.auth.identity()?.project ?? 'default')}`;
  }

  traces(query: TraceQuery): Observable<TraceList> {
    return this.http.get<TraceList>(`${this.base()}/trace-search`, { params: params(query) });
  }

  trace(traceId: string): Observable<TraceDetail> {
    return this.http.get<TraceDetail>(`${this.base()}/traces/${encodeURIComponent(traceId)}`);
  }

  findings(traceId: string): Observable<Finding[]> {
    return this.http.get<{ findings: Finding[] }>(`${this.base()}/traces/${encodeURIComponent(traceId)}/findings`).pipe(map((r) => r.findings));
  }

  replay(traceId: string): Observable<ReplayEvent[]> {
    return this.http.get(`${this.base()}/traces/${encodeURIComponent(traceId)}/replay`, { responseType: 'text' }).pipe(map(parseNdjson));
  }

  usage(range: TimeRange): Observable<UsageSeries> { return this.overview<UsageSeries>('usage', range); }
  security(range: TimeRange): Observable<SecuritySeries> { return this.overview<SecuritySeries>('security', range); }
  latency(range: TimeRange): Observable<LatencyScatter> { return this.overview<LatencyScatter>('latency', range); }
  errors(range: TimeRange): Observable<ErrorRateSeries> { return this.overview<ErrorRateSeries>('errors', range); }
  models(range: TimeRange): Observable<ModelLatencyList> { return this.overview<ModelLatencyList>('models', range); }
  filters(range: TimeRange): Observable<FilterOptions> { return this.overview<FilterOptions>('filters', range); }

  /** Erases a subject's payloads by destroying their keys (admin scope; docs/privacy.md). */
  eraseSubject(subject: string): Observable<SubjectErasure> {
    return this.http.post<SubjectErasure>(`${this.base()}/subjects/${encodeURIComponent(subject)}/erase`, null);
  }

  private overview<T>(name: string, range: TimeRange): Observable<T> {
    return this.http.get<T>(`${this.base()}/overview/${name}`, { params: params(range) });
  }
}
