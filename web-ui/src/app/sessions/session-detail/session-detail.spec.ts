import { TestBed } from '@angular/core/testing';
import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { provideRouter } from '@angular/router';
import { SessionDetailPage } from './session-detail';

describe('SessionDetailPage', () => {
  it('lists the traces in order with totals and links each to a comparison with the one before', async () => {
    TestBed.configureTestingModule({ providers: [provideRouter([]), provideHttpClient(), provideHttpClientTesting()] });
    const fixture = TestBed.createComponent(SessionDetailPage);
    fixture.componentRef.setInput('sessionId', 's-1');
    fixture.detectChanges();
    const trace = (id: string, start: string) => ({ traceId: id, name: 'agent', startTime: start, endTime: null, durationMs: 10, spanCount: 2,
      openSpanCount: 0, errorCount: 0, inputTokens: 3, outputTokens: 2, costUsd: 0.1, status: 'ok', models: [] });
    TestBed.inject(HttpTestingController).expectOne('/api/projects/default/sessions/s-1').flush({
      session: { sessionId: 's-1', userIds: ['u-1'], traceCount: 2, errorCount: 0, firstStart: '2026-03-10T01:00:00Z',
        lastStart: '2026-03-10T02:00:00Z', durationMs: 20, inputTokens: 6, outputTokens: 4, costUsd: 0.2 },
      traces: [trace('first', '2026-03-10T01:00:00Z'), trace('second', '2026-03-10T02:00:00Z')],
    });
    await fixture.whenStable();
    const el = fixture.nativeElement as HTMLElement;
    expect([...el.querySelectorAll('li[data-trace-id]')].map((li) => li.getAttribute('data-trace-id'))).toEqual(['first', 'second']);
    expect(el.querySelector('[data-testid=session-trace-count]')!.textContent).toBe('2');
    expect(el.querySelector('[data-testid=session-input-tokens]')!.textContent).toBe('6');
    expect(el.querySelector('li[data-trace-id=second] a.compare')!.getAttribute('href')).toBe('/compare?left=first&right=second');
    expect(el.querySelector('li[data-trace-id=first] a.compare')).toBeNull();
    fixture.destroy();
  });
});
