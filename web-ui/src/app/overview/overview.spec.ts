import { TestBed } from '@angular/core/testing';
import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { provideRouter } from '@angular/router';
import { Overview } from './overview';
import { bucketsOf, latencyBubbles, stackedByModel } from './chart-data';

describe('Overview', () => {
  it('asks every chart endpoint for the same range and shows empty states that say what to do', async () => {
    TestBed.configureTestingModule({ providers: [provideRouter([]), provideHttpClient(), provideHttpClientTesting()] });
    const fixture = TestBed.createComponent(Overview);
    fixture.detectChanges();
    const http = TestBed.inject(HttpTestingController);
    const requests = http.match((r) => r.url.includes('/overview/'));
    expect(requests.map((r) => r.request.url.split('/').at(-1)).sort()).toEqual(['errors', 'latency', 'models', 'security', 'usage']);
    expect(new Set(requests.map((r) => r.request.params.toString())).size).toBe(1);
    for (const r of requests) {
      const name = r.request.url.split('/').at(-1);
      r.flush(name === 'security' ? { totalFindings: 0, days: [] } : name === 'models' ? { models: [] } : { points: [], bucket: 'hour' });
    }
    await fixture.whenStable();
    const empties = [...fixture.nativeElement.querySelectorAll('.empty')].map((e: Element) => e.textContent);
    expect(empties.length).toBe(6);
    expect(empties.join(' ')).toContain('POST /v1/spans');
  });
});

describe('chart data', () => {
  it('stacks models over the same buckets, zero-filled', () => {
    const series = stackedByModel([
      { bucket: '2026-03-10T01:00:00Z', model: 'a', calls: 1, inputTokens: 1, outputTokens: 1, costUsd: 0.5 },
      { bucket: '2026-03-10T02:00:00Z', model: 'b', calls: 1, inputTokens: 1, outputTokens: 1, costUsd: 0.25 },
    ], (p) => p.costUsd);
    expect(series.map((s) => s.series.map((p) => p.value))).toEqual([[0.5, 0], [0, 0.25]]);
  });

  it('lists every bucket of the range', () => {
    expect(bucketsOf('2026-03-10T00:30:00Z', '2026-03-10T03:00:00Z', 'hour'))
      .toEqual(['2026-03-10T00:00:00Z', '2026-03-10T01:00:00Z', '2026-03-10T02:00:00Z']);
  });

  it('draws equal bubbles split by errors', () => {
    const series = latencyBubbles([
      { traceId: 't1', name: 'n', startTime: '', externalMs: 1, llmMs: 2, status: 'ok' },
      { traceId: 't2', name: 'n', startTime: '', externalMs: 3, llmMs: 4, status: 'error' },
    ]);
    expect(series.map((s) => [s.name, s.series.length, s.series[0].r])).toEqual([['Traces without errors', 1, 1], ['Traces with errors', 1, 1]]);
  });
});
