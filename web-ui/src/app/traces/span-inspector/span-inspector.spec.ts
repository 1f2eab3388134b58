import { TestBed } from '@angular/core/testing';
import { span } from '../../../testing/spans';
import { SpanInspector } from './span-inspector';

describe('SpanInspector', () => {
  it('renders chat payloads as a conversation and other JSON collapsible', async () => {
    const fixture = TestBed.createComponent(SpanInspector);
    fixture.componentRef.setInput('span', span('s', null, '2026-03-10T00:00:00Z', '2026-03-10T00:00:01Z', {
      input: [{ role: 'user', content: 'Where is my order?' }], output: { role: 'assistant', content: 'Shipped.' },
      inputTokens: 10, outputTokens: 2, attributes: { k: 'v' } }));
    fixture.componentRef.setInput('findings', [{ traceId: 't', spanId: 's', kind: 'pii', action: 'block', score: 0.9, reason: 'email', detectedAt: '' }]);
    await fixture.whenStable();
    const el = fixture.nativeElement as HTMLElement;
    expect(el.querySelector('[aria-label="Input messages"]')!.textContent).toContain('Where is my order?');
    expect(el.querySelector('[aria-label="Output messages"]')!.textContent).toContain('Shipped.');
    expect(el.querySelector('[data-testid=span-tokens]')!.textContent).toContain('10 in · 2 out');
    expect(el.querySelector('.finding')!.textContent).toContain('pii · block');
    expect(el.querySelector('as-json-view summary')!.textContent).toContain('Attributes JSON');
  });

  it('shows the payloads of an erased subject as erased', async () => {
    const fixture = TestBed.createComponent(SpanInspector);
    fixture.componentRef.setInput('span', span('s', null, '2026-03-10T00:00:00Z', '2026-03-10T00:00:01Z', {
      input: { erased: true }, output: { erased: true }, attributes: { erased: true } }));
    await fixture.whenStable();
    const el = fixture.nativeElement as HTMLElement;
    expect(el.querySelectorAll('[data-testid=erased]').length).toBe(3);
    expect(el.textContent).not.toContain('"erased"');
  });
});
