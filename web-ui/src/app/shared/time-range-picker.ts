import { ChangeDetectionStrategy, Component, inject } from '@angular/core';
import { RangePreset, RangePresets, TimeRangeService } from './time-range.service';

@Component({
  selector: 'as-time-range-picker',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <label for="time-range">Time range</label>
    <select id="time-range" [value]="ranges.preset()" (change)="select($event)">
      @for (p of presets; track p.value) {
        <option [value]="p.value" [selected]="p.value === ranges.preset()">{{ p.label }}</option>
      }
    </select>
    <button type="button" (click)="ranges.refresh()" aria-label="Refresh to now">Refresh</button>
  `,
  styles: `:host { display: inline-flex; gap: .5rem; align-items: center; } label { color: var(--muted); }`,
})
export class TimeRangePicker {
  protected readonly ranges = inject(TimeRangeService);
  protected readonly presets = RangePresets;

  protected select(event: Event): void {
    this.ranges.select((event.target as HTMLSelectElement).value as RangePreset);
  }
}
