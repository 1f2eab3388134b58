import { TestBed } from '@angular/core/testing';
import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { Operations } from './operations';
import { ProjectionsStatus, formatEta, percent } from './operations-api';

const rebuilding: ProjectionsStatus = {
  logPosition: 1000,
  projections: [{
    name: 'analytics', position: 1000, lag: 0, lastError: null, lagSeconds: 0, state: 'rebuilding', rate: 12,
    rebuild: { version: 1, phase: 'replaying', done: 250, total: 1000, rate: 500, etaSeconds: 90, startedAt: '2026-12-03T10:00:00Z', finishedAt: null, parity: null, error: null },
  }],
};

describe('Operations', () => {
  function setUp() {
    TestBed.configureTestingModule({ providers: [provideHttpClient(), provideHttpClientTesting()] });
    const fixture = TestBed.createComponent(Operations);
    fixture.detectChanges();
    return { fixture, http: TestBed.inject(HttpTestingController), page: fixture.nativeElement as HTMLElement };
  }

  it('shows each projection with its state, lag and a rebuild progress bar', async () => {
    const { fixture, http, page } = setUp();
    http.expectOne('/api/projections').flush(rebuilding);
    await fixture.whenStable();
    const row = page.querySelector('[data-projection=analytics]')!;
    expect(row.querySelector('[data-test=state]')!.textContent).toContain('rebuilding');
    expect(row.querySelector('[role=progressbar]')!.getAttribute('aria-valuenow')).toBe('25');
    expect(row.querySelector('[data-test=rebuild-phase]')!.textContent).toContain('ETA 1 min 30 s');
    expect((row.querySelector('button') as HTMLButtonElement).disabled).toBe(true);
    fixture.destroy();
  });

  it('posts a pause for the projection and asks for the status again', async () => {
    const { fixture, http, page } = setUp();
    http.expectOne('/api/projections').flush({ logPosition: 5, projections: [{ ...rebuilding.projections[0], state: 'running', rebuild: null }] });
    await fixture.whenStable();
    const pause = [...page.querySelectorAll('button')].find((b) => b.textContent?.trim() === 'Pause') as HTMLButtonElement;
    pause.click();
    const post = http.expectOne('/api/projections/analytics/pause');
    expect(post.request.method).toBe('POST');
    post.flush({ ...rebuilding.projections[0], state: 'paused' });
    http.expectOne('/api/projections').flush({ logPosition: 5, projections: [{ ...rebuilding.projections[0], state: 'paused', rebuild: null }] });
    await fixture.whenStable();
    expect(page.querySelector('[data-test=state]')!.textContent).toContain('paused');
    expect([...page.querySelectorAll('button')].some((b) => b.textContent?.trim() === 'Resume')).toBe(true);
    fixture.destroy();
  });

  it('says an admin key is needed when the server answers 403', async () => {
    const { fixture, http, page } = setUp();
    http.expectOne('/api/projections').flush(null, { status: 403, statusText: 'Forbidden' });
    await fixture.whenStable();
    expect(page.querySelector('[role=alert]')!.textContent).toContain('admin scope');
    fixture.destroy();
  });
});

describe('percent and formatEta', () => {
  it('round down the share done and say minutes and seconds', () => {
    expect(percent({ ...rebuilding.projections[0].rebuild!, done: 999 })).toBe(99);
    expect(percent({ ...rebuilding.projections[0].rebuild!, phase: 'done' })).toBe(100);
    expect(formatEta(null)).toBe('—');
    expect(formatEta(42.4)).toBe('42 s');
  });
});
