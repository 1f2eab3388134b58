import { TestBed } from '@angular/core/testing';
import { provideRouter } from '@angular/router';
import { provideHttpClient } from '@angular/common/http';
import { provideHttpClientTesting } from '@angular/common/http/testing';
import { App } from './app';
import { AuthService } from './auth/auth.service';

describe('App', () => {
  beforeEach(() => TestBed.configureTestingModule({ providers: [provideRouter([]), provideHttpClient(), provideHttpClientTesting()] }));

  it('shows no navigation before signing in', async () => {
    const fixture = TestBed.createComponent(App);
    await fixture.whenStable();
    expect(fixture.nativeElement.querySelector('nav')).toBeNull();
  });

  it('shows the project and how it signed in', async () => {
    TestBed.inject(AuthService).identity.set({ signedIn: true, project: 'default', scopes: ['read'], method: 'link' });
    const fixture = TestBed.createComponent(App);
    await fixture.whenStable();
    expect(fixture.nativeElement.querySelector('.who').textContent).toContain('signed in by link');
    expect(fixture.nativeElement.querySelector('nav').getAttribute('aria-label')).toBe('Main');
  });

  it('offers projection operations only to the operator, an admin of project default', async () => {
    const auth = TestBed.inject(AuthService);
    const links = async () => {
      const fixture = TestBed.createComponent(App);
      await fixture.whenStable();
      return Array.from(fixture.nativeElement.querySelectorAll('nav a') as NodeListOf<HTMLAnchorElement>).map((a) => a.textContent?.trim());
    };
    auth.identity.set({ signedIn: true, project: 'acme', scopes: ['read', 'admin'], method: 'key' });
    expect(await links()).toContain('Keys');
    expect(await links()).not.toContain('Operations');
    auth.identity.set({ signedIn: true, project: 'default', scopes: ['read', 'admin'], method: 'key' });
    expect(await links()).toContain('Operations');
  });
});
