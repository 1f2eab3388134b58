import { TestBed } from '@angular/core/testing';
import { JsonView } from './json-view';
import { extractMessages } from './messages';

describe('JsonView', () => {
  it('shows short JSON open and long JSON collapsed', async () => {
    const fixture = TestBed.createComponent(JsonView);
    fixture.componentRef.setInput('value', { a: 1 });
    await fixture.whenStable();
    expect(fixture.nativeElement.querySelector('details').open).toBe(true);
    fixture.componentRef.setInput('value', { a: 'x'.repeat(2000) });
    await fixture.whenStable();
    expect(fixture.nativeElement.querySelector('details').open).toBe(false);
  });

  it('shows an erased payload as "erased", not as JSON', async () => {
    const fixture = TestBed.createComponent(JsonView);
    fixture.componentRef.setInput('value', { erased: true });
    await fixture.whenStable();
    const el = fixture.nativeElement as HTMLElement;
    expect(el.querySelector('[data-testid=erased]')!.textContent).toBe('erased');
    expect(el.querySelector('pre')).toBeNull();
    fixture.componentRef.setInput('value', { erased: true, note: 'a user payload that only looks similar' });
    await fixture.whenStable();
    expect(el.querySelector('[data-testid=erased]')).toBeNull();
    expect(el.querySelector('pre')!.textContent).toContain('looks similar');
  });
});

describe('extractMessages', () => {
  it('reads arrays, {messages}, choices and single messages', () => {
    expect(extractMessages([{ role: 'user', content: 'hi' }])).toEqual([{ role: 'user', content: 'hi' }]);
    expect(extractMessages({ messages: [{ role: 'system', content: 's' }] })).toEqual([{ role: 'system', content: 's' }]);
    expect(extractMessages({ choices: [{ message: { role: 'assistant', content: 'a' } }] })).toEqual([{ role: 'assistant', content: 'a' }]);
    expect(extractMessages('plain', 'assistant')).toEqual([{ role: 'assistant', content: 'plain' }]);
  });

  it('reads OpenTelemetry GenAI parts (what the .NET SDK records): text, tool calls, tool responses', () => {
    expect(extractMessages([
      { role: 'system', parts: [{ type: 'text', content: 'Be brief.' }] },
      { role: 'assistant', parts: [{ type: 'tool_call', id: 'c1', name: 'get_pricing', arguments: { product: 'AgentStack' } }], finish_reason: 'tool_call' },
      { role: 'tool', parts: [{ type: 'tool_call_response', id: 'c1', response: '49 USD' }] },
    ])).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'assistant', content: 'get_pricing({"product":"AgentStack"})' },
      { role: 'tool', content: '49 USD' },
    ]);
  });

  it('is null for other JSON', () => {
    expect(extractMessages({ order: 1 })).toBeNull();
    expect(extractMessages([1, 2])).toBeNull();
    expect(extractMessages(null)).toBeNull();
  });
});
