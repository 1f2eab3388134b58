import { TestBed } from '@angular/core/testing';
import { provideRouter } from '@angular/router';
import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { Login } from './login';

describe('Login', () => {
  beforeEach(() => {
    sessionStorage.clear();
    TestBed.configureTestingModule({ providers: [provideRouter([]), provideHttpClient(), provideHttpClientTesting()] });
  });

  it('explains a used link', async () => {
    const fixture = TestBed.createComponent(Login);
    fixture.componentRef.setInput('error', 'link');
    await fixture.whenStable();
    expect(fixture.nativeElement.querySelector('[role=alert]').textContent).toContain('used already or has expired');
  });

  it('sends the pasted key and reports a refusal', async () => {
    const fixture = TestBed.createComponent(Login);
    await fixture.whenStable();
    const input = fixture.nativeElement.querySelector('#key') as HTMLInputElement;
    input.value = 'ask_wrong';
    input.dispatchEvent(new Event('input'));
    await fixture.whenStable();
    fixture.nativeElement.querySelector('form').dispatchEvent(new Event('submit'));
    const http = TestBed.inject(HttpTestingController);
    const request = http.expectOne('/api/session');
    expect(request.request.headers.get('Authorization')).toBe('Bearer ask_wrong');
    request.flush({ signedIn: false, project: null, scopes: [], method: null });
    await fixture.whenStable();
    await new Promise((resolve) => setTimeout(resolve));
    await fixture.whenStable();
    expect(fixture.nativeElement.textContent).toContain('The server refused that key');
    expect(sessionStorage.getItem('agentstack.readKey')).toBeNull();
  });
});
