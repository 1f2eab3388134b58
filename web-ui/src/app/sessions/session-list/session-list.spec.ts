import { TestBed } from '@angular/core/testing';
import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { provideRouter } from '@angular/router';
import { SessionListPage } from './session-list';

describe('SessionListPage', () => {
  it('lists sessions with their totals and filters by user', async () => {
    TestBed.configureTestingModule({ providers: [provideRouter([]), provideHttpClient(), provideHttpClientTesting()] });
    const fixture = TestBed.createComponent(SessionListPage);
    fixture.detectChanges();
    const http = TestBed.inject(HttpTestingController);
    http.expectOne((r) => r.url.endsWith('/sessions')).flush({ items: [{ sessionId: 's-1', userIds: ['u-1', 'u-2'], traceCount: 3, errorCount: 1,
      firstStart: '2026-03-10T01:00:00Z', lastStart: '2026-03-10T02:00:00Z', durationMs: 1500, inputTokens: 10, outputTokens: 5, costUsd: 0.25 }] });
    await fixture.whenStable();
    const row = fixture.nativeElement.querySelector('tr[data-session-id=s-1]') as HTMLElement;
    expect(row.textContent).toContain('u-1, u-2');
    expect(row.textContent).toContain('15');
    expect(row.querySelector('a')!.getAttribute('href')).toBe('/sessions/s-1');

    const user = fixture.nativeElement.querySelector('input[name=userId]') as HTMLInputElement;
    user.value = 'u-2';
    user.dispatchEvent(new Event('change'));
    fixture.detectChanges();
    const request = http.expectOne((r) => r.url.endsWith('/sessions'));
    expect(request.request.params.get('userId')).toBe('u-2');
    request.flush({ items: [] });
    await fixture.whenStable();
    expect(fixture.nativeElement.querySelector('.empty').textContent).toContain('No sessions');
    fixture.destroy();
  });
});
