import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { EraseSubject } from './erase-subject';

describe('EraseSubject', () => {
  function setup() {
    TestBed.configureTestingModule({ providers: [provideHttpClient(), provideHttpClientTesting()] });
    const fixture = TestBed.createComponent(EraseSubject);
    return { fixture, http: TestBed.inject(HttpTestingController), el: fixture.nativeElement as HTMLElement };
  }

  function type(el: HTMLElement, name: string, text: string) {
    const input = el.querySelector(`input[name=${name}]`) as HTMLInputElement;
    input.value = text;
    input.dispatchEvent(new Event('input'));
  }

  function submit(el: HTMLElement) {
    (el.querySelector('form') as HTMLFormElement).dispatchEvent(new Event('submit'));
  }

  it('erases only after the subject is typed again, then shows what was erased', async () => {
    const { fixture, http, el } = setup();
    await fixture.whenStable();
    type(el, 'subject', 'alice@example.com');
    await fixture.whenStable();
    submit(el);
    await fixture.whenStable();
    http.expectNone(() => true);

    const button = el.querySelector('button[type=submit]') as HTMLButtonElement;
    type(el, 'confirmation', 'alice@example.co');
    await fixture.whenStable();
    expect(button.disabled).toBe(true);
    type(el, 'confirmation', 'alice@example.com');
    await fixture.whenStable();
    expect(button.disabled).toBe(false);
    submit(el);

    const request = http.expectOne('/api/projects/default/subjects/alice%40example.com/erase');
    expect(request.request.method).toBe('POST');
    request.flush({ subject: 'alice@example.com', erasedAt: '2026-12-03T14:00:00Z', keysDestroyed: 2, analyticsSpansErased: 5 });
    await fixture.whenStable();
    expect(el.querySelector('[data-testid=erase-result]')!.textContent).toContain('Erased alice@example.com');
    expect(el.querySelector('[data-testid=erase-result]')!.textContent).toContain('2 keys destroyed');
    http.verify();
  });

  it('explains a refusal for a key without the admin scope', async () => {
    const { fixture, http, el } = setup();
    await fixture.whenStable();
    type(el, 'subject', 'bob');
    await fixture.whenStable();
    submit(el);
    await fixture.whenStable();
    type(el, 'confirmation', 'bob');
    await fixture.whenStable();
    submit(el);
    http.expectOne('/api/projects/default/subjects/bob/erase').flush({ title: 'Forbidden' }, { status: 403, statusText: 'Forbidden' });
    await fixture.whenStable();
    expect(el.querySelector('[role=alert]')!.textContent).toContain('admin key');
  });

  it('can be cancelled without a request', async () => {
    const { fixture, http, el } = setup();
    await fixture.whenStable();
    type(el, 'subject', 'carol');
    await fixture.whenStable();
    submit(el);
    await fixture.whenStable();
    (el.querySelector('button[type=button]') as HTMLButtonElement).click();
    await fixture.whenStable();
    expect(el.querySelector('input[name=subject]')).not.toBeNull();
    http.verify();
  });
});
