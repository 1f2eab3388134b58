import { TestBed } from '@angular/core/testing';
import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { RetentionPanel } from './retention-panel';

async function tick(fixture: { detectChanges(): void }): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve));
  fixture.detectChanges();
  await new Promise((resolve) => setTimeout(resolve));
  fixture.detectChanges();
}

describe('RetentionPanel', () => {
  beforeEach(() => {
    TestBed.configureTestingModule({ providers: [provideHttpClient(), provideHttpClientTesting()] });
  });

  it('shows the policy and the runs, and saves a new policy', async () => {
    const fixture = TestBed.createComponent(RetentionPanel);
    fixture.componentRef.setInput('project', 'alpha');
    const http = TestBed.inject(HttpTestingController);
    fixture.detectChanges();
    http.expectOne('/api/projects/alpha/retention').flush({
      project: 'alpha', days: 30, setAt: '2026-12-01T00:00:00Z', setBy: 'key_1',
      runs: [{ appliedAt: '2026-12-02T00:00:00Z', retentionDays: 30, cutoff: '2026-11-02T00:00:00Z', keysDestroyed: 4, spansExpired: 12, tracesExpired: 3, findingsExpired: 2, position: 9 }],
    });
    await tick(fixture);
    expect(fixture.nativeElement.querySelector('[data-test=retention-policy]').textContent).toContain('30 days');
    expect(fixture.nativeElement.querySelector('[data-test=retention-run]').textContent).toContain('12');

    fixture.nativeElement.querySelector('form').dispatchEvent(new Event('submit'));
    const put = http.expectOne('/api/projects/alpha/retention');
    expect(put.request.method).toBe('PUT');
    expect(put.request.body).toEqual({ days: 30 });
    put.flush({ project: 'alpha', days: 30, setAt: '2026-12-03T00:00:00Z', setBy: 'key_1', runs: [] });
    await tick(fixture);
    http.expectOne('/api/projects/alpha/retention').flush({ project: 'alpha', days: 30, setAt: '2026-12-03T00:00:00Z', setBy: 'key_1', runs: [] });
    await tick(fixture);
    expect(fixture.nativeElement.querySelector('tbody').textContent).toContain('removed nothing yet');
  });
});
