import { TestBed } from '@angular/core/testing';
import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { provideRouter } from '@angular/router';
import { provideAnimationsAsync } from '@angular/platform-browser/animations/async';
import { Overview } from './overview';
import { bucketsOf, errorRateSeries, latencyBubbles, stackedByModel } from './chart-data';
import { TimeRangeService } from '../shared/time-range.service';

function answer(http: HttpTestingController, bucket: string): void {
  const requests = http.match((r) => r.url.includes('/overview/'));
  expect(requests.length).toBe(5);
  for (const r of requests) {
    const { from, to } = { from: r.request.params.get('from')!, to: r.request.params.get('to')! };
    const name = r.request.url.split('/').at(-1);
    const at = new Date(Math.floor(Date.parse(to) / 86_400_000) * 86_400_000).toISOString().replace('.000Z', 'Z');
    r.flush(
      name === 'security' ? { from, to, totalFindings: 0, days: [] }
        : name === 'models' ? { from, to, models: [{ model: 'm', calls: 1, p50Ms: 10, p95Ms: 20 }] }
        : name === 'latency' ? { from, to, points: [{ traceId: 't', name: 'n', startTime: at, externalMs: 1, llmMs: 2, status: 'ok' }] }
        : name === 'errors' ? { from, to, bucket, points: [{ bucket: at, traces: 4, errors: 1, errorRate: 0.25 }] }
        : { from, to, bucket, points: [{ bucket: at, model: 'm', calls: 1, inputTokens: 1, outputTokens: 2, costUsd: 0.5 }] });
  }
}

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

describe('Overview on a range change', () => {
  it('keeps every chart (no empty state, no re-created chart) while the new range loads, then shows it', async () => {
    TestBed.configureTestingModule({
      providers: [provideRouter([]), provideHttpClient(), provideHttpClientTesting(), provideAnimationsAsync('noop')],
    });
    const fixture = TestBed.createComponent(Overview);
    const http = TestBed.inject(HttpTestingController);
    const page = fixture.nativeElement as HTMLElement;
    fixture.detectChanges();
    answer(http, 'hour');
    await fixture.whenStable();
    const charts = ['cost', 'tokens', 'latency', 'errors', 'models'].map((c) => page.querySelector(`[data-chart=${c}] .chart > *`));
    expect(charts.every((c) => c !== null)).toBe(true);
    expect(page.querySelector('.grid')!.getAttribute('aria-busy')).toBe('false');

    TestBed.inject(TimeRangeService).select('7d');
    fixture.detectChanges();
    expect(page.querySelector('.grid')!.getAttribute('aria-busy')).toBe('true');
    expect(page.querySelectorAll('.grid .empty').length).toBe(1); // only the security chart's "no detections"
    answer(http, 'day');
    await fixture.whenStable();
    expect(page.querySelector('.grid')!.getAttribute('aria-busy')).toBe('false');
    expect(['cost', 'tokens', 'latency', 'errors', 'models'].map((c) => page.querySelector(`[data-chart=${c}] .chart > *`))).toEqual(charts);
    const week = page.querySelector('[data-chart=errors] tbody td')!.textContent;
    expect(Date.now() - Date.parse(week!)).toBeLessThan(86_400_000);
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

  it('draws the error rate over every bucket of the range, so one busy day still draws a line', () => {
    const [series] = errorRateSeries([{ bucket: '2026-03-12T00:00:00Z', traces: 4, errors: 1, errorRate: 0.25 }],
      bucketsOf('2026-03-10T12:00:00Z', '2026-03-12T12:00:00Z', 'day'));
    expect(series.series.map((p) => [(p.name as Date).toISOString(), p.value])).toEqual([
      ['2026-03-10T00:00:00.000Z', 0], ['2026-03-11T00:00:00.000Z', 0], ['2026-03-12T00:00:00.000Z', 25]]);
  });

  it('draws equal bubbles split by errors', () => {
    const series = latencyBubbles([
      { traceId: 't1', name: 'n', startTime: '', externalMs: 1, llmMs: 2, status: 'ok' },
      { traceId: 't2', name: 'n', startTime: '', externalMs: 3, llmMs: 4, status: 'error' },
    ]);
    expect(series.map((s) => [s.name, s.series.length, s.series[0].r])).toEqual([['Traces without errors', 1, 1], ['Traces with errors', 1, 1]]);
  });
});
