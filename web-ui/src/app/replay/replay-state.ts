import { FindingItem, ReplayEvent, SpanView } from '../api/models';
import { ChatMessage, extractMessages } from '../shared/messages';
import { spanTree } from '../traces/waterfall';

export type ReplaySpan = SpanView & { state: 'running' | 'ok' | 'error' };

/** The agent's state as it was after a step: what the events up to and including it had recorded. */
export interface ReplayState {
  spans: { span: ReplaySpan; depth: number }[];
  messages: (ChatMessage & { spanId: string })[];
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

/**
 * Folds events[0..index] (stream order, as the replay endpoint streams them). A completed event carries
 * the whole final span, so it replaces the started one. Messages are the conversation in the order the
 * model saw and produced it: each LLM span's input messages not shown yet, then its output.
 */
export function stateAt(events: ReplayEvent[], index: number): ReplayState {
  const spans = new Map<string, ReplaySpan>();
  const messages: (ChatMessage & { spanId: string })[] = [];
  const shown = new Map<string, number>();
  const keyOf = (m: ChatMessage) => `${m.role}\u0000${m.content}`;
  const add = (m: ChatMessage, spanId: string) => {
    shown.set(keyOf(m), (shown.get(keyOf(m)) ?? 0) + 1);
    messages.push({ ...m, spanId });
  };
  // An input repeats the conversation so far: a message is new only in its occurrences beyond those shown, so a
  // user saying "yes" twice is shown twice.
  const addInput = (input: ChatMessage[], spanId: string) => {
    const counts = new Map<string, number>();
    for (const m of input) {
      const count = (counts.get(keyOf(m)) ?? 0) + 1;
      counts.set(keyOf(m), count);
      if (count > (shown.get(keyOf(m)) ?? 0)) add(m, spanId);
    }
  };
  for (const event of events.slice(0, index + 1)) {
    const span = event.data.span;
    if (!span) continue;
    const completed = event.type.startsWith('span.completed') || span.endTime !== null && span.endTime !== undefined;
    const state = completed ? (span.status === 'error' ? 'error' : 'ok') : 'running';
    const isNew = !spans.has(span.spanId);
    spans.set(span.spanId, { ...span, state });
    if (span.kind === 'llm') {
      if (isNew) addInput(extractMessages(span.input) ?? [], span.spanId);
      if (completed) for (const m of extractMessages(span.output, 'assistant') ?? []) add(m, span.spanId);
    } else if (span.kind === 'tool' && completed && span.output !== null && span.output !== undefined) {
      add({ role: 'tool', name: span.name, content: typeof span.output === 'string' ? span.output : JSON.stringify(span.output) }, span.spanId);
    }
  }
  const all = [...spans.values()];
  return {
    spans: spanTree(all),
    messages,
    inputTokens: all.reduce((s, x) => s + (x.inputTokens ?? 0), 0),
    outputTokens: all.reduce((s, x) => s + (x.outputTokens ?? 0), 0),
    costUsd: all.reduce((s, x) => s + (x.costUsd ?? 0), 0),
  };
}

/** When an event happened in the agent's run: a start at the span's start, a completion at its end. */
export function occurredAt(event: ReplayEvent): number {
  const span = event.data.span;
  const at = event.type.startsWith('span.completed') ? span?.endTime : span?.startTime;
  return Date.parse(at ?? event.recordedAt);
}

export const Speeds = ['1', '2', '10', 'real'] as const;
export type Speed = (typeof Speeds)[number];

/** Delay before showing events[index + 1]: one step a second at 1×, or the recorded gap (at most 10 s) in real time. */
export function delayAfter(events: ReplayEvent[], index: number, speed: Speed): number {
  if (speed !== 'real') return 1000 / Number(speed);
  const next = events[index + 1];
  if (!next) return 0;
  const gap = occurredAt(next) - occurredAt(events[index]);
  return Math.min(Math.max(Number.isFinite(gap) ? gap : 0, 0), 10_000);
}

/** Whether the recorded run is over: its root span completed and no started span left open (as the server's follow decides). */
export function runIsOver(events: ReplayEvent[]): boolean {
  const open = new Set<string>();
  let rootCompleted = false;
  for (const event of events) {
    const span = event.data.span;
    if (!span) continue;
    if (event.type.startsWith('span.started')) open.add(span.spanId);
    else if (event.type.startsWith('span.completed')) {
      open.delete(span.spanId);
      if (!span.parentSpanId) rootCompleted = true;
    }
  }
  return rootCompleted && open.size === 0;
}

/** The latest recorded state of each span in the events (a completion replaces its start), with its duration. */
export function spansFromEvents(events: ReplayEvent[]): SpanView[] {
  const spans = new Map<string, SpanView>();
  for (const event of events) {
    const span = event.data.span;
    if (!span) continue;
    const durationMs = span.endTime ? Date.parse(span.endTime) - Date.parse(span.startTime) : null;
    spans.set(span.spanId, { ...span, durationMs: span.durationMs ?? durationMs });
  }
  return [...spans.values()];
}

/**
 * The step (index into `events`) a finding belongs to (issue 15.5): the span event it was found in, by its log position;
 * a finding without one (an anomaly) sits at its span's completion. -1 when the step is not among the events.
 */
export function findingStep(events: ReplayEvent[], finding: Pick<FindingItem, 'sourcePosition' | 'spanId'>): number {
  if (finding.sourcePosition > 0) return events.findIndex((e) => e.position === finding.sourcePosition);
  return events.findIndex((e) => e.type === 'span.completed.v1' && e.data.span?.spanId === finding.spanId);
}

/**
 * JSON text indented as `JSON.stringify(value, null, 2)` indents it, from the text itself: numbers stay as written (a
 * parse rounds integers beyond 2^53 and turns 1.10 into 1.1) and keys stay in their order; strings read as
 * JSON.stringify spells them (`\u003C` as `<`).
 */
export function indentJson(text: string): string {
  const blank = ' \t\n\r';
  let out = '';
  let depth = 0;
  const newline = () => '\n' + '  '.repeat(depth);
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      out += JSON.stringify(JSON.parse(text.slice(i, end + 1)));
      i = end;
    } else if (c === '{' || c === '[') {
      let next = i + 1;
      while (blank.includes(text[next] ?? '')) next++;
      if (text[next] === (c === '{' ? '}' : ']')) {
        out += c + text[next];
        i = next;
      } else {
        depth++;
        out += c + newline();
      }
    } else if (c === '}' || c === ']') {
      depth--;
      out += newline() + c;
    } else if (c === ',') out += ',' + newline();
    else if (c === ':') out += ': ';
    else if (!blank.includes(c)) out += c;
  }
  return out;
}
