import { parseNdjson, parseSse } from './api.service';

describe('parseSse', () => {
  it('splits complete events and keeps the incomplete rest for the next chunk', () => {
    const first = parseSse('id: 1\nevent: span.started.v1\ndata: {"version":1}\n\nid: 2\nevent: span.comp');
    expect(first.events).toEqual([{ event: 'span.started.v1', data: '{"version":1}' }]);
    const second = parseSse(first.rest + 'leted.v1\ndata: {"version":2}\n\n: keep-alive\n\nevent: end\ndata: {}\n\n');
    expect(second.events).toEqual([{ event: 'span.completed.v1', data: '{"version":2}' }, { event: 'end', data: '{}' }]);
    expect(second.rest).toBe('');
  });
});

describe('parseNdjson', () => {
  it('reads an event whose payload was sent pretty-printed, line breaks and all', () => {
    const text = '{"version":1,"data":{"span":{"input":{\n  "q": "a\\nb } ]",\n  "n": [1,\r\n 2]\n}}}}\n\n{"version":2,"data":{}}\n';
    const events = parseNdjson(text);
    expect(events.map((e) => e.version)).toEqual([1, 2]);
    expect(events[0].data.span!.input).toEqual({ q: 'a\nb } ]', n: [1, 2] });
  });
});
