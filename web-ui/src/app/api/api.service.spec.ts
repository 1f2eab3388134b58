import { parseSse } from './api.service';

describe('parseSse', () => {
  it('splits complete events and keeps the incomplete rest for the next chunk', () => {
    const first = parseSse('id: 1\nevent: span.started.v1\ndata: {"version":1}\n\nid: 2\nevent: span.comp');
    expect(first.events).toEqual([{ event: 'span.started.v1', data: '{"version":1}' }]);
    const second = parseSse(first.rest + 'leted.v1\ndata: {"version":2}\n\n: keep-alive\n\nevent: end\ndata: {}\n\n');
    expect(second.events).toEqual([{ event: 'span.completed.v1', data: '{"version":2}' }, { event: 'end', data: '{}' }]);
    expect(second.rest).toBe('');
  });
});
