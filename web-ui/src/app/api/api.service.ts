import { HttpClient, HttpParams } from '@angular/common/http';
import { Injectable, inject } from '@angular/core';
import { Observable, map } from 'rxjs';
import { AuthService } from '../auth/auth.service';
import {
  ErrorRateSeries, FilterOptions, Finding, LatencyScatter, ModelLatencyList, ReplayEvent, SecuritySeries, SubjectErasure, TimeRange,
  TraceDetail, TraceList, TraceQuery, UsageSeries,
} from './models';
import { FindingList, FindingsOverTime, FindingsQuery, ReplayFeed, RunComparison, SessionDetail, SessionList } from './models';

/** Splits Server-Sent Events text into complete events (the rest is returned to wait for more bytes). */
export function parseSse(buffer: string): { events: { event: string; data: string }[]; rest: string } {
  const blocks = buffer.replace(/\r\n/g, '\n').split('\n\n');
  const rest = blocks.pop() ?? '';
  const events = blocks.flatMap((block) => {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    return data.length > 0 ? [{ event, data: data.join('\n') }] : [];
  });
  return { events, rest };
}

/** One stored event, keeping its text for the Time Machine to show as stored (invariant 5). */
function parseEvent(json: string): ReplayEvent {
  return { ...(JSON.parse(json) as ReplayEvent), raw: json };
}

/**
 * Parses the replay endpoint's NDJSON: one stored event a line. Payloads are stored as sent, so one sent pretty-printed
 * holds line breaks (between its tokens: a JSON string cannot hold a raw one) and its event spans lines: events end at
 * the line breaks outside every object and array.
 */
export function parseNdjson(text: string): ReplayEvent[] {
  const events: ReplayEvent[] = [];
  const add = (line: string) => {
    if (line.trim().length > 0) events.push(parseEvent(line));
  };
  let start = 0;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '\n' && depth === 0) {
      add(text.slice(start, i));
      start = i + 1;
    }
  }
  add(text.slice(start));
  return events;
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

  /** The detectors' findings with filters and paging (issue 15.5). */
  findingList(query: FindingsQuery): Observable<FindingList> {
    return this.http.get<FindingList>(`${this.base()}/findings`, { params: params(query) });
  }

  findingsOverTime(query: FindingsQuery): Observable<FindingsOverTime> {
    return this.http.get<FindingsOverTime>(`${this.base()}/findings/over-time`, { params: params(query) });
  }

  replay(traceId: string): Observable<ReplayEvent[]> {
    return this.http.get(`${this.base()}/traces/${encodeURIComponent(traceId)}/replay`, { responseType: 'text' }).pipe(map(parseNdjson));
  }

  /**
   * The live replay (issue 16): the replay endpoint as Server-Sent Events with `follow=true`, read with fetch (an
   * EventSource cannot send the key). Emits the events pushed so far after each chunk, and `live: false` when the
   * server ends the stream (the run is over) or it breaks; never errors, so a lost feed only stops the growth.
   */
  followReplay(traceId: string, fromVersion = 1): Observable<ReplayFeed> {
    return new Observable<ReplayFeed>((subscriber) => {
      const controller = new AbortController();
      const headers: Record<string, string> = { Accept: 'text/event-stream' };
      const key = this.auth.key();
      if (key) headers['Authorization'] = `Bearer ${key}`;
      const url = `${this.base()}/traces/${encodeURIComponent(traceId)}/replay?follow=true&fromVersion=${fromVersion}`;
      const events: ReplayEvent[] = [];
      const read = async () => {
        const response = await fetch(url, { headers, credentials: 'same-origin', signal: controller.signal });
        if (!response.ok || !response.body) return;
        subscriber.next({ events: [], live: true });
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = '';
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          const parsed = parseSse(buffer + decoder.decode(value, { stream: true }));
          buffer = parsed.rest;
          const added = parsed.events.filter((e) => e.event !== 'end').map((e) => parseEvent(e.data));
          if (added.length > 0) {
            events.push(...added);
            subscriber.next({ events: [...events], live: true });
          }
        }
      };
      read().catch(() => undefined).finally(() => {
        if (controller.signal.aborted) return;
        subscriber.next({ events: [...events], live: false });
        subscriber.complete();
      });
      return () => controller.abort();
    });
  }

  sessions(query: { from?: string; to?: string; userId?: string; limit?: number }): Observable<SessionList> {
    return this.http.get<SessionList>(`${this.base()}/sessions`, { params: params(query) });
  }

  session(sessionId: string): Observable<SessionDetail> {
    return this.http.get<SessionDetail>(`${this.base()}/sessions/${encodeURIComponent(sessionId)}`);
  }

  compare(left: string, right: string): Observable<RunComparison> {
    return this.http.get<RunComparison>(`${this.base()}/compare`, { params: params({ left, right }) });
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
