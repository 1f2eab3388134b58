import { TestBed } from '@angular/core/testing';
import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { provideRouter } from '@angular/router';
import { vi } from 'vitest';
import { LiveIntervalMs, TraceListPage } from './trace-list';

describe('TraceListPage', () => {
  it('lists traces and passes the filters to the search', async () => {
    TestBed.configureTestingModule({ providers: [provideRouter([]), provideHttpClient(), provideHttpClientTesting()] });
    const fixture = TestBed.createComponent(TraceListPage);
    fixture.detectChanges();
    const http = TestBed.inject(HttpTestingController);
    http.match((r) => r.url.endsWith('/overview/filters')).forEach((r) => r.flush({ models: ['gpt-4o'], kinds: ['llm'] }));
    http.expectOne((r) => r.url.endsWith('/trace-search')).flush({ items: [{
      traceId: 't1', name: 'agent', startTime: '2026-03-10T01:00:00Z', endTime: null, durationMs: 12, spanCount: 2, openSpanCount: 0,
      errorCount: 1, inputTokens: 3, outputTokens: 4, costUsd: 0.01, status: 'error', models: ['gpt-4o'] }], next: null });
    await fixture.whenStable();
    expect(fixture.nativeElement.querySelector('tr[data-trace-id=t1]').textContent).toContain('agent');

    const kind = fixture.nativeElement.querySelector('select[name=kind]') as HTMLSelectElement;
    kind.value = 'tool';
    kind.dispatchEvent(new Event('change'));
    fixture.detectChanges();
    const request = http.expectOne((r) => r.url.endsWith('/trace-search'));
    expect(request.request.params.get('kind')).toBe('tool');
    request.flush({ items: [], next: null });
    await fixture.whenStable();
    expect(fixture.nativeElement.querySelector('.empty').textContent).toContain('No traces match');
    fixture.destroy();
  });

  it('filters by session and user and links two picked traces to the comparison', async () => {
    TestBed.configureTestingModule({ providers: [provideRouter([]), provideHttpClient(), provideHttpClientTesting()] });
    const fixture = TestBed.createComponent(TraceListPage);
    fixture.detectChanges();
    const http = TestBed.inject(HttpTestingController);
    http.match((r) => r.url.endsWith('/overview/filters')).forEach((r) => r.flush({ models: [], kinds: [] }));
    const row = (id: string) => ({ traceId: id, name: id, startTime: '2026-03-10T01:00:00Z', endTime: null, durationMs: 1, spanCount: 1,
      openSpanCount: 0, errorCount: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, status: 'ok', models: [] });
    http.expectOne((r) => r.url.endsWith('/trace-search')).flush({ items: [row('a'), row('b'), row('c')], next: null });
    await fixture.whenStable();

    const session = fixture.nativeElement.querySelector('input[name=sessionId]') as HTMLInputElement;
    session.value = 'chat-7';
    session.dispatchEvent(new Event('change'));
    fixture.detectChanges();
    const request = http.expectOne((r) => r.url.endsWith('/trace-search'));
    expect(request.request.params.get('sessionId')).toBe('chat-7');
    request.flush({ items: [row('a'), row('b'), row('c')], next: null });
    await fixture.whenStable();

    for (const id of ['a', 'b', 'c']) {
      (fixture.nativeElement.querySelector(`tr[data-trace-id=${id}] input[type=checkbox]`) as HTMLInputElement).click();
      await fixture.whenStable();
    }
    const link = fixture.nativeElement.querySelector('.compare-bar a') as HTMLAnchorElement;
    expect(link.getAttribute('href')).toBe('/compare?left=b&right=c');
    fixture.destroy();
  });
  it('keeps every loaded trace when a live refresh pushes one off the first page', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      TestBed.configureTestingModule({ providers: [provideRouter([]), provideHttpClient(), provideHttpClientTesting()] });
      const fixture = TestBed.createComponent(TraceListPage);
      fixture.detectChanges();
      const http = TestBed.inject(HttpTestingController);
      http.match((r) => r.url.endsWith('/overview/filters')).forEach((r) => r.flush({ models: [], kinds: [] }));
      const row = (id: string) => ({ traceId: id, name: id, startTime: '2026-03-10T01:00:00Z', endTime: null, durationMs: 1, spanCount: 1,
        openSpanCount: 0, errorCount: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, status: 'ok', models: [] });
      const shown = () => [...fixture.nativeElement.querySelectorAll('tr[data-trace-id]')].map((r) => (r as HTMLElement).dataset['traceId']);
      http.expectOne((r) => r.url.endsWith('/trace-search')).flush({ items: [row('a'), row('b')], next: 'after-b' });
      await fixture.whenStable();
      [...fixture.nativeElement.querySelectorAll('button')].find((b) => (b as HTMLElement).textContent!.includes('Load more'))!.click();
      http.expectOne((r) => r.url.endsWith('/trace-search') && r.params.get('cursor') === 'after-b').flush({ items: [row('c')], next: null });
      await fixture.whenStable();
      expect(shown()).toEqual(['a', 'b', 'c']);

      // A new trace arrives: the refreshed first page is n, a and b moves to the second page, already loaded before.
      vi.advanceTimersByTime(LiveIntervalMs);
      fixture.detectChanges();
      http.expectOne((r) => r.url.endsWith('/trace-search') && !r.params.has('cursor')).flush({ items: [row('n'), row('a')], next: 'after-a' });
      await fixture.whenStable();
      expect(shown()).toEqual(['n', 'a', 'b', 'c']);
      fixture.destroy();
    } finally {
      vi.useRealTimers();
    }
  });
});
