import { vi } from 'vitest';
import { TestBed } from '@angular/core/testing';
import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { provideRouter } from '@angular/router';
import { FindingItem, ReplayEvent } from '../api/models';
import { span } from '../../testing/spans';
import { delayAfter, findingStep, runIsOver, spansFromEvents, stateAt } from './replay-state';
import { BehaviorSubject } from 'rxjs';
import { ApiService } from '../api/api.service';
import { ReplayFeed } from '../api/models';
import { ReplayViewer } from './replay-viewer';

const events: ReplayEvent[] = [
  { version: 1, position: 1, type: 'span.started.v1', recordedAt: '2026-03-10T00:00:00Z', hash: 'h1', prevHash: null,
    data: { span: span('root', null, '2026-03-10T00:00:00Z', null, { kind: 'agent' }) } },
  { version: 2, position: 2, type: 'span.started.v1', recordedAt: '2026-03-10T00:00:00Z', hash: 'h2', prevHash: 'h1',
    data: { span: span('llm', 'root', '2026-03-10T00:00:01Z', null, { input: [{ role: 'user', content: 'hi' }] }) } },
  { version: 3, position: 3, type: 'span.completed.v1', recordedAt: '2026-03-10T00:00:00Z', hash: 'h3', prevHash: 'h2',
    data: { span: span('llm', 'root', '2026-03-10T00:00:01Z', '2026-03-10T00:00:04Z',
      { input: [{ role: 'user', content: 'hi' }], output: { role: 'assistant', content: 'hello' }, inputTokens: 5, outputTokens: 7, costUsd: 0.5 }) } },
];

describe('replay state', () => {
  it('is the state the events up to a step recorded', () => {
    expect(stateAt(events, 1).spans.map((s) => [s.span.spanId, s.depth, s.span.state])).toEqual([['root', 0, 'running'], ['llm', 1, 'running']]);
    expect(stateAt(events, 1).messages.map((m) => m.content)).toEqual(['hi']);
    const last = stateAt(events, 2);
    expect([last.inputTokens, last.outputTokens, last.costUsd]).toEqual([5, 7, 0.5]);
    expect(last.messages.map((m) => `${m.role}:${m.content}`)).toEqual(['user:hi', 'assistant:hello']);
  });

  it('shows a message said again, and each tool result, as often as the run recorded it', () => {
    const at = (version: number, s: ReturnType<typeof span>): ReplayEvent => ({ version, position: version, type: 'span.completed.v1',
      recordedAt: '2026-03-10T00:00:00Z', hash: `h${version}`, prevHash: null, data: { span: s } });
    const run = [
      at(1, span('a', null, '2026-03-10T00:00:01Z', '2026-03-10T00:00:02Z', { input: [{ role: 'user', content: 'yes' }], output: 'Send it?' })),
      at(2, span('b', null, '2026-03-10T00:00:03Z', '2026-03-10T00:00:04Z', {
        input: [{ role: 'user', content: 'yes' }, { role: 'assistant', content: 'Send it?' }, { role: 'user', content: 'yes' }], output: 'Sent.' })),
      at(3, span('mail', null, '2026-03-10T00:00:05Z', '2026-03-10T00:00:06Z', { kind: 'tool', output: 'ok' })),
      at(4, span('sms', null, '2026-03-10T00:00:06Z', '2026-03-10T00:00:07Z', { kind: 'tool', output: 'ok' })),
    ];
    expect(stateAt(run, 3).messages.map((m) => `${m.role}:${m.content}`)).toEqual(
      ['user:yes', 'assistant:Send it?', 'user:yes', 'assistant:Sent.', 'tool:ok', 'tool:ok']);
  });

  it('places a finding at the span event it was found in, an anomaly at its span completion', () => {
    expect(findingStep(events, { sourcePosition: 3, spanId: 'llm' })).toBe(2);
    expect(findingStep(events, { sourcePosition: 0, spanId: 'llm' })).toBe(2);
    expect(findingStep(events, { sourcePosition: 99, spanId: 'llm' })).toBe(-1);
  });

  it('keeps recorded gaps in real time and fixed steps otherwise', () => {
    expect(delayAfter(events, 0, '1')).toBe(1000);
    expect(delayAfter(events, 0, '10')).toBe(100);
    expect(delayAfter(events, 0, 'real')).toBe(1000);
    expect(delayAfter(events, 1, 'real')).toBe(3000);
  });
});

describe('live runs', () => {
  const completed = (id: string, parent: string | null, version: number): ReplayEvent => ({
    version, position: version, type: 'span.completed.v1', recordedAt: '2026-03-10T00:00:05Z', hash: `h${version}`, prevHash: null,
    data: { span: span(id, parent, '2026-03-10T00:00:00Z', '2026-03-10T00:00:05Z') },
  });

  it('is over once the root completed and nothing is left open', () => {
    expect(runIsOver(events)).toBe(false);
    expect(runIsOver([...events, completed('root', null, 4)])).toBe(true);
    expect(runIsOver([events[0], completed('root', null, 2)])).toBe(true);
    expect(runIsOver([events[0], events[1], completed('root', null, 3)])).toBe(false);
  });

  it('keeps the latest recorded state of each span, with its duration', () => {
    expect(spansFromEvents(events).map((s) => [s.spanId, s.endTime, s.durationMs])).toEqual([
      ['root', null, null], ['llm', '2026-03-10T00:00:04Z', 3000],
    ]);
  });
});

describe('ReplayViewer', () => {
  let feed: BehaviorSubject<ReplayFeed>;
  async function open(version?: string, findings: FindingItem[] = [], stored = events.map((e) => JSON.stringify(e)).join('\n') + '\n') {
    TestBed.configureTestingModule({ providers: [provideRouter([]), provideHttpClient(), provideHttpClientTesting()] });
    // The live feed has answered (open, nothing new yet), as followReplay does once the server accepts the request.
    feed = new BehaviorSubject<ReplayFeed>({ events: [], live: true });
    vi.spyOn(TestBed.inject(ApiService), 'followReplay').mockReturnValue(feed);
    const fixture = TestBed.createComponent(ReplayViewer);
    fixture.componentRef.setInput('traceId', 't');
    if (version) fixture.componentRef.setInput('version', version);
    fixture.detectChanges();
    TestBed.inject(HttpTestingController).expectOne('/api/projects/default/traces/t/replay')
      .flush(stored);
    TestBed.inject(HttpTestingController).expectOne((r) => r.url === '/api/projects/default/findings' && r.params.get('traceId') === 't')
      .flush({ items: findings, next: null });
    await fixture.whenStable();
    return fixture;
  }
  const step = (el: HTMLElement) => el.querySelector('[data-testid=replay-step]')!.textContent!.trim();

  it('opens the deep-linked version and steps with buttons and keys', async () => {
    const fixture = await open('2');
    const el = fixture.nativeElement as HTMLElement;
    expect(step(el)).toContain('Step 2 of 3 · version 2');
    (el.querySelector('[aria-label="Step forward"]') as HTMLButtonElement).click();
    await fixture.whenStable();
    expect(el.querySelector('[data-testid=replay-output-tokens]')!.textContent).toBe('7');
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowLeft' }));
    await fixture.whenStable();
    expect(step(el)).toContain('Step 2 of 3');
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Home' }));
    await fixture.whenStable();
    expect(el.querySelector('[data-testid=replay-event-type]')!.textContent).toBe('span.started.v1');
    expect(el.querySelectorAll('[data-testid=replay-spans] li').length).toBe(1);
    fixture.destroy();
  });

  it('grows while the run is recorded, following the last step', async () => {
    const fixture = await open(String(3));
    const el = fixture.nativeElement as HTMLElement;
    expect(TestBed.inject(ApiService).followReplay).toHaveBeenCalledWith('t', 4);
    const more: ReplayEvent = { version: 4, position: 4, type: 'span.completed.v1', recordedAt: '2026-03-10T00:00:05Z', hash: 'h4', prevHash: 'h3',
      data: { span: span('root', null, '2026-03-10T00:00:00Z', '2026-03-10T00:00:05Z', { kind: 'agent' }) } };
    feed.next({ events: [more], live: true });
    await fixture.whenStable();
    expect(step(el)).toContain('Step 4 of 4 · version 4');
    expect(el.querySelector('[data-testid=replay-live]')).not.toBeNull();
    feed.next({ events: [more], live: false });
    await fixture.whenStable();
    expect(el.querySelector('[data-testid=replay-live]')).toBeNull();
    fixture.destroy();
  });

  it('shows each finding at the step it was found in, with its kind, score and reason', async () => {
    const fixture = await open('1', [{ position: 9, sourcePosition: 3, traceId: 't', spanId: 'llm', agent: 'agent', kind: 'prompt_injection',
      rule: 'override', severity: 'high', score: 0.93, reason: 'asks to ignore the previous instructions', field: 'input$[0].content',
      start: 4, length: 20, action: 'flag', detector: 'prompt-injection', detectorVersion: '3', detectedAt: '2026-03-10T00:00:04Z' }]);
    const el = fixture.nativeElement as HTMLElement;
    expect(el.querySelector('[data-testid=replay-findings]')).toBeNull();
    expect(el.querySelector('[data-testid=span-finding]')).toBeNull();
    (el.querySelector('[aria-label="Go to step 3: prompt injection"]') as HTMLButtonElement).click();
    await fixture.whenStable();
    expect(step(el)).toContain('Step 3 of 3');
    const shown = el.querySelector('[data-testid=replay-findings]')!.textContent!;
    expect(shown).toContain('prompt injection');
    expect(shown).toContain('score 0.93');
    expect(shown).toContain('asks to ignore the previous instructions');
    expect(el.querySelector('[data-span-id=llm] [data-testid=span-finding]')!.textContent).toContain('prompt injection');
    fixture.destroy();
  });

  it('shows the event as stored: integers beyond double precision, decimals and key order as written', async () => {
    const line = '{"version":1,"position":1,"type":"span.started.v1","recordedAt":"2026-03-10T00:00:00.000000Z","hash":"h1","prevHash":null,'
      + '"data":{"span":{"traceId":"t","spanId":"root","name":"a \\u003Cb\\u003E","kind":"tool","startTime":"2026-03-10T00:00:00Z",'
      + '"input":{"orderId":12345678901234567890,"price":1.10,"b":[],"2":"two","1":"one"}}}}';
    const fixture = await open(undefined, [], line + '\n');
    const shown = (fixture.nativeElement as HTMLElement).querySelector('[data-testid=replay-payload]')!.textContent!;
    expect(shown).toContain('"orderId": 12345678901234567890,');
    expect(shown).toContain('"price": 1.10,');
    expect(shown).toContain('"name": "a <b>",');
    expect(shown).toContain('"b": [],\n        "2": "two",\n        "1": "one"\n');
    fixture.destroy();
  });

  it('names every control', async () => {
    const fixture = await open();
    const el = fixture.nativeElement as HTMLElement;
    for (const control of el.querySelectorAll('button, input, select')) expect(control.getAttribute('aria-label')).toBeTruthy();
    fixture.destroy();
  });
});
