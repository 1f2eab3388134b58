import { TestBed } from '@angular/core/testing';
import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { provideRouter } from '@angular/router';
import { span } from '../../../testing/spans';
import { waterfall } from '../waterfall';
import { TraceDetailPage } from './trace-detail';


describe('TraceDetailPage', () => {
  it('draws the span tree as a waterfall and inspects the first span', async () => {
    TestBed.configureTestingModule({ providers: [provideRouter([]), provideHttpClient(), provideHttpClientTesting()] });
    const fixture = TestBed.createComponent(TraceDetailPage);
    fixture.componentRef.setInput('traceId', 't');
    fixture.detectChanges();
    const http = TestBed.inject(HttpTestingController);
    http.expectOne('/api/projects/default/traces/t').flush({ traceId: 't', spans: [
      span('root', null, '2026-03-10T00:00:00Z', '2026-03-10T00:00:01Z'),
      span('child', 'root', '2026-03-10T00:00:00.500Z', '2026-03-10T00:00:01Z'),
    ] });
    http.expectOne('/api/projects/default/traces/t/findings').flush({ findings: [] });
    await fixture.whenStable();
    const rows = fixture.nativeElement.querySelectorAll('button[data-span-id]');
    expect([...rows].map((r: Element) => r.getAttribute('data-span-id'))).toEqual(['root', 'child']);
    expect(fixture.nativeElement.querySelector('as-span-inspector h2').textContent).toBe('root');
  });
});

describe('TraceDetailPage of a re-run', () => {
  it('links the original and the comparison', async () => {
    TestBed.configureTestingModule({ providers: [provideRouter([]), provideHttpClient(), provideHttpClientTesting()] });
    const fixture = TestBed.createComponent(TraceDetailPage);
    fixture.componentRef.setInput('traceId', 't2');
    fixture.detectChanges();
    const http = TestBed.inject(HttpTestingController);
    http.expectOne('/api/projects/default/traces/t2').flush({ traceId: 't2', spans: [
      span('root', null, '2026-03-10T00:00:00Z', '2026-03-10T00:00:01Z', { attributes: { 'agentstack.rerun.of': 't1', 'agentstack.rerun.step': 2 } }),
    ] });
    http.expectOne('/api/projects/default/traces/t2/findings').flush({ findings: [] });
    await fixture.whenStable();
    const note = fixture.nativeElement.querySelector('[data-testid=trace-rerun-of]') as HTMLElement;
    expect(note.textContent).toContain('2 step(s) as recorded');
    expect([...note.querySelectorAll('a')].map((a) => a.getAttribute('href'))).toEqual(['/traces/t1', '/compare?left=t1&right=t2']);
  });
});

describe('waterfall', () => {
  it('scales bars to the trace and orders children under parents', () => {
    const rows = waterfall([
      span('b', 'a', '2026-03-10T00:00:00.500Z', '2026-03-10T00:00:01Z'),
      span('a', null, '2026-03-10T00:00:00Z', '2026-03-10T00:00:01Z'),
      span('c', null, '2026-03-10T00:00:00.250Z', null),
    ]);
    expect(rows.map((r) => [r.span.spanId, r.depth, r.offsetPct, r.widthPct, r.open])).toEqual([
      ['a', 0, 0, 100, false], ['b', 1, 50, 50, false], ['c', 0, 25, 75, true],
    ]);
  });
});
