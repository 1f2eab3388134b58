import { TestBed } from '@angular/core/testing';
import { TimeRangePicker } from './time-range-picker';
import { TimeRangeService, rangeEnding } from './time-range.service';

describe('TimeRangePicker', () => {
  it('changes the shared range', async () => {
    const fixture = TestBed.createComponent(TimeRangePicker);
    await fixture.whenStable();
    const select = fixture.nativeElement.querySelector('select') as HTMLSelectElement;
    expect(fixture.nativeElement.querySelector('label').getAttribute('for')).toBe(select.id);
    select.value = '7d';
    select.dispatchEvent(new Event('change'));
    const range = TestBed.inject(TimeRangeService).range();
    expect(Date.parse(range.to) - Date.parse(range.from)).toBe(7 * 86_400_000);
  });

  it('ends ranges on whole seconds', () => {
    const range = rangeEnding(new Date('2026-03-10T10:00:00.200Z'), '1h');
    expect(range).toEqual({ from: '2026-03-10T09:00:01.000Z', to: '2026-03-10T10:00:01.000Z' });
  });
});
