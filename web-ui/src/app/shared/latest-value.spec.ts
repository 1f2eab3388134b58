import { ApplicationRef, Injector, signal } from '@angular/core';
import { rxResource } from '@angular/core/rxjs-interop';
import { TestBed } from '@angular/core/testing';
import { Subject, throwError } from 'rxjs';
import { latestValue } from './latest-value';

describe('latestValue', () => {
  it('keeps the previous value while the resource loads for new params, and drops it on an error', async () => {
    // A stream's first value reaches the resource through a promise: wait for the app to be stable.
    const settled = () => TestBed.inject(ApplicationRef).whenStable();
    const params = signal('24h');
    const answers = new Map<string, Subject<string>>();
    const resource = rxResource({
      params: () => params(),
      stream: ({ params: p }) => (p === 'fail' ? throwError(() => new Error('down')) : answers.set(p, new Subject<string>()).get(p)!),
      injector: TestBed.inject(Injector),
    });
    const latest = latestValue(resource);

    TestBed.tick();
    expect(latest()).toBeUndefined();
    answers.get('24h')!.next('day data');
    await settled();
    expect(latest()).toBe('day data');

    params.set('7d');
    TestBed.tick();
    expect(resource.isLoading()).toBe(true);
    expect(resource.value()).toBeUndefined();
    expect(latest()).toBe('day data');

    answers.get('7d')!.next('week data');
    await settled();
    expect(latest()).toBe('week data');

    params.set('fail');
    await settled();
    expect(resource.status()).toBe('error');
    expect(latest()).toBeUndefined();
  });
});
