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
});

describe('extractMessages', () => {
  it('reads arrays, {messages}, choices and single messages', () => {
    expect(extractMessages([{ role: 'user', content: 'hi' }])).toEqual([{ role: 'user', content: 'hi' }]);
    expect(extractMessages({ messages: [{ role: 'system', content: 's' }] })).toEqual([{ role: 'system', content: 's' }]);
    expect(extractMessages({ choices: [{ message: { role: 'assistant', content: 'a' } }] })).toEqual([{ role: 'assistant', content: 'a' }]);
    expect(extractMessages('plain', 'assistant')).toEqual([{ role: 'assistant', content: 'plain' }]);
  });

  it('is null for other JSON', () => {
    expect(extractMessages({ order: 1 })).toBeNull();
    expect(extractMessages([1, 2])).toBeNull();
    expect(extractMessages(null)).toBeNull();
  });
});
