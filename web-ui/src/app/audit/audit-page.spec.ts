import { vi } from 'vitest';
import { TestBed } from '@angular/core/testing';
import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { AuditPage } from './audit-page';

describe('AuditPage', () => {
  it('lists checkpoints, verifies a trace and shows each break with its kind', async () => {
    TestBed.configureTestingModule({ providers: [provideHttpClient(), provideHttpClientTesting()] });
    const fixture = TestBed.createComponent(AuditPage);
    fixture.detectChanges();
    const http = TestBed.inject(HttpTestingController);
    http.expectOne((r) => r.url === '/api/audit/checkpoints').flush({ items: [
      { treeSize: 42, rootHash: 'ab'.repeat(32), timestamp: '2026-12-03T10:00:00Z', keyId: 'k1', algorithm: 'ECDSA-P256-SHA256', signature: 's' }] });
    http.expectOne('/api/audit/public-key').flush({ algorithm: 'ECDSA-P256-SHA256', keyId: 'k1', publicKey: 'PEM' });
    await fixture.whenStable();
    fixture.detectChanges();
    expect(fixture.nativeElement.querySelector('tr[data-tree-size="42"]').textContent).toContain('42');

    const trace = fixture.nativeElement.querySelector('input[name=traceId]') as HTMLInputElement;
    trace.value = 'run-1';
    trace.dispatchEvent(new Event('input'));
    fixture.nativeElement.querySelector('form').dispatchEvent(new Event('submit'));
    const request = http.expectOne((r) => r.url.endsWith('/audit/verify'));
    expect(request.request.params.get('traceId')).toBe('run-1');
    request.flush({ valid: false, eventsChecked: 5, breaksOmitted: 0, checkpoint: null, breaks: [
      { stream: 'trace-default-run-1', version: 3, expectedHash: 'aa', foundHash: 'bb', kind: 'edited', detail: 'bytes changed' }] });
    await fixture.whenStable();
    fixture.detectChanges();
    expect(fixture.nativeElement.querySelector('[data-testid=verify-result]').textContent).toContain('Tampering found');
    expect(fixture.nativeElement.querySelector('tr[data-kind=edited]').textContent).toContain('trace-default-run-1');
    http.verify();
    fixture.destroy();
  });

  it('says what the server said when the stored checkpoints do not read, for the list and for a download', async () => {
    TestBed.configureTestingModule({ providers: [provideHttpClient(), provideHttpClientTesting()] });
    const fixture = TestBed.createComponent(AuditPage);
    fixture.detectChanges();
    const http = TestBed.inject(HttpTestingController);
    const problem = {
      status: 500,
      title: 'A stored audit checkpoint does not read as the server wrote it',
      detail: "audit.db: checkpoints.timestamp of a stored row is 'yesterday', not an integer",
    };
    http.expectOne((r) => r.url === '/api/audit/checkpoints').flush(problem, { status: 500, statusText: 'Internal Server Error' });
    http.expectOne('/api/audit/public-key').flush({ algorithm: 'ECDSA-P256-SHA256', keyId: 'k1', publicKey: 'PEM' });
    await fixture.whenStable();
    fixture.detectChanges();
    expect(fixture.nativeElement.querySelector('[data-testid=checkpoints-error]').textContent).toContain(
      `Checkpoints could not be loaded: ${problem.title}: ${problem.detail}`);

    const exportButton = [...fixture.nativeElement.querySelectorAll('button')].find(
      (b: HTMLButtonElement) => b.textContent?.includes('Download signed export')) as HTMLButtonElement;
    exportButton.click();
    http.expectOne((r) => r.url.endsWith('/audit/export')).flush(
      new Blob([JSON.stringify(problem)], { type: 'application/problem+json' }), { status: 500, statusText: 'Internal Server Error' });
    await vi.waitFor(() => {
      fixture.detectChanges();
      expect(fixture.nativeElement.querySelector('[role=alert]')?.textContent).toContain(`Export failed: ${problem.title}: ${problem.detail}`);
    });
    http.verify();
    fixture.destroy();
  });
});
