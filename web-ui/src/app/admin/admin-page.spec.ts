import { TestBed } from '@angular/core/testing';
import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { AuthService } from '../auth/auth.service';
import { AdminPage } from './admin-page';

/** Lets promises and the resource's reload run, without waiting for requests the test has not answered yet. */
async function tick(fixture: { detectChanges(): void }): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve));
  fixture.detectChanges();
  await new Promise((resolve) => setTimeout(resolve));
  fixture.detectChanges();
}

describe('AdminPage', () => {
  beforeEach(() => {
    TestBed.configureTestingModule({ providers: [provideHttpClient(), provideHttpClientTesting()] });
  });

  it('asks for an admin key when the identity lacks the scope', async () => {
    TestBed.inject(AuthService).identity.set({ signedIn: true, project: 'default', scopes: ['read'], method: 'link' });
    const fixture = TestBed.createComponent(AdminPage);
    await fixture.whenStable();
    expect(fixture.nativeElement.querySelector('[role=alert]').textContent).toContain('admin scope');
    TestBed.inject(HttpTestingController).expectNone('/api/projects/default/keys');
  });

  it('lists keys by prefix, issues one and shows its secret once', async () => {
    TestBed.inject(AuthService).identity.set({ signedIn: true, project: 'alpha', scopes: ['ingest', 'read', 'admin'], method: 'key' });
    const fixture = TestBed.createComponent(AdminPage);
    const http = TestBed.inject(HttpTestingController);
    fixture.detectChanges();
    http.expectOne('/api/projects/alpha/keys').flush([
      { keyId: 'key_1', prefix: 'ask_abcdefgh', scopes: ['read'], createdAt: '2026-12-01T00:00:00Z', expiresAt: null, revokedAt: null, state: 'active' },
    ]);
    await tick(fixture);
    expect(fixture.nativeElement.querySelector('tr[data-key=key_1]').textContent).toContain('ask_abcdefgh');

    fixture.nativeElement.querySelector('form').dispatchEvent(new Event('submit'));
    const issue = http.expectOne('/api/projects/alpha/keys');
    expect(issue.request.method).toBe('POST');
    expect(issue.request.body).toEqual({ scopes: ['ingest'], expiresAt: null });
    issue.flush({ project: 'alpha', keyId: 'key_2', scopes: ['ingest'], secret: 'ask_secret_value', prefix: 'ask_secret_v', expiresAt: null });
    await tick(fixture);
    http.expectOne('/api/projects/alpha/keys').flush([]);
    await tick(fixture);
    expect(fixture.nativeElement.querySelector('[data-test=secret]').textContent).toBe('ask_secret_value');
  });

  it('revokes a key and reloads the list', async () => {
    TestBed.inject(AuthService).identity.set({ signedIn: true, project: 'alpha', scopes: ['admin', 'read'], method: 'key' });
    const fixture = TestBed.createComponent(AdminPage);
    const http = TestBed.inject(HttpTestingController);
    fixture.detectChanges();
    http.expectOne('/api/projects/alpha/keys').flush([
      { keyId: 'key_1', prefix: 'ask_abcdefgh', scopes: ['read'], createdAt: '2026-12-01T00:00:00Z', expiresAt: null, revokedAt: null, state: 'active' },
    ]);
    await tick(fixture);
    (fixture.nativeElement.querySelector('button.danger') as HTMLButtonElement).click();
    const revoke = http.expectOne('/api/projects/alpha/keys/key_1');
    expect(revoke.request.method).toBe('DELETE');
    revoke.flush(null, { status: 204, statusText: 'No Content' });
    await tick(fixture);
    http.expectOne('/api/projects/alpha/keys').flush([
      { keyId: 'key_1', prefix: 'ask_abcdefgh', scopes: ['read'], createdAt: '2026-12-01T00:00:00Z', expiresAt: null, revokedAt: '2026-12-02T00:00:00Z', state: 'revoked' },
    ]);
    await tick(fixture);
    expect(fixture.nativeElement.querySelector('tr[data-key=key_1] .state').textContent).toBe('revoked');
  });
});
