import { TestBed } from '@angular/core/testing';
import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { provideRouter } from '@angular/router';
import { span } from '../../testing/spans';
import { CompareRuns, signed } from './compare-runs';

describe('CompareRuns', () => {
  it('shows both runs step by step and opens the first divergence', async () => {
    TestBed.configureTestingModule({ providers: [provideRouter([]), provideHttpClient(), provideHttpClientTesting()] });
    const fixture = TestBed.createComponent(CompareRuns);
    fixture.componentRef.setInput('left', 'a');
    fixture.componentRef.setInput('right', 'b');
    fixture.detectChanges();
    const totals = (id: string, tokens: number) => ({ traceId: id, name: 'agent', startTime: '2026-03-10T01:00:00Z', durationMs: 100, spanCount: 2,
      errorCount: 0, inputTokens: tokens, outputTokens: 1, costUsd: 0.1, rerunOf: id === 'b' ? 'a' : null });
    const tool = (out: string) => span('tool', 'root', '2026-03-10T01:00:01Z', '2026-03-10T01:00:02Z', { kind: 'tool', name: 'execute_tool get_pricing', output: out });
    TestBed.inject(HttpTestingController).expectOne((r) => r.url === '/api/projects/default/compare' && r.params.get('left') === 'a' && r.params.get('right') === 'b')
      .flush({
        left: totals('a', 10), right: totals('b', 13),
        steps: [
          { index: 0, left: span('root', null, '2026-03-10T01:00:00Z', '2026-03-10T01:00:03Z'), right: span('root', null, '2026-03-10T01:00:00Z', '2026-03-10T01:00:03Z'), differences: [] },
          { index: 1, left: tool('49 USD'), right: tool('99 USD'), differences: ['output'] },
        ],
        firstDivergence: { index: 1, field: 'output', label: 'tool output' },
        inputTokensDelta: 3, outputTokensDelta: 0, costUsdDelta: 0, durationMsDelta: 0,
      });
    await fixture.whenStable();
    const el = fixture.nativeElement as HTMLElement;
    expect(el.querySelector('[data-testid=compare-divergence]')!.textContent).toContain('step 2');
    expect(el.querySelector('[data-testid=compare-divergence]')!.textContent).toContain('tool output');
    expect(el.querySelector('button[data-step="1"]')!.classList).toContain('diverges');
    expect(el.querySelector('[data-testid=compare-step] h2')!.textContent).toContain('execute_tool get_pricing');
    expect(el.querySelector('[data-testid=compare-step]')!.textContent).toContain('99 USD');
    expect(el.querySelector('[data-testid=compare-token-delta]')!.textContent).toContain('+3');
    expect(el.textContent).toContain('re-run of left');

    (el.querySelector('button[data-step="0"]') as HTMLButtonElement).click();
    await fixture.whenStable();
    expect(el.querySelector('[data-testid=compare-step] h2')!.textContent).toContain('root');
    fixture.destroy();
  });

  it('signs differences', () => {
    expect(signed(3)).toBe('+3');
    expect(signed(-2)).toBe('−2');
    expect(signed(0)).toBe('±0');
  });
});
