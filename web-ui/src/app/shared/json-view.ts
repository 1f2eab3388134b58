import { ChangeDetectionStrategy, Component, computed, input } from '@angular/core';
import { isErased } from './erased';

/** A JSON payload, collapsible; long ones start collapsed; an erased one reads "erased" (docs/privacy.md). */
@Component({
  selector: 'as-json-view',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    @if (value() === null || value() === undefined) {
      <span class="muted">none</span>
    } @else if (erased()) {
      <span class="erased muted" data-testid="erased" title="Erased at the subject's request: its key was destroyed">erased</span>
    } @else {
      <details [open]="short()">
        <summary>{{ label() }} <span class="muted">({{ size() }} characters)</span></summary>
        <pre>{{ pretty() }}</pre>
      </details>
    }
  `,
})
export class JsonView {
  readonly value = input<unknown>();
  readonly label = input('JSON');
  protected readonly erased = computed(() => isErased(this.value()));
  protected readonly pretty = computed(() => JSON.stringify(this.value(), null, 2));
  protected readonly size = computed(() => this.pretty().length);
  protected readonly short = computed(() => this.size() < 1500);
}
