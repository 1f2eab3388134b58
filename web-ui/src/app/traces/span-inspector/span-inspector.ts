import { ChangeDetectionStrategy, Component, computed, input } from '@angular/core';
import { Finding, SpanView } from '../../api/models';
import { formatMs, formatTime, formatUsd } from '../../shared/format';
import { JsonView } from '../../shared/json-view';
import { extractMessages } from '../../shared/messages';

/** A span's facts and payloads: chat messages as a conversation, other JSON collapsible. */
@Component({
  selector: 'as-span-inspector',
  imports: [JsonView],
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './span-inspector.html',
  styles: `
    :host { display: block; } dl { display: grid; grid-template-columns: auto 1fr; gap: .2rem .8rem; font-size: .88rem; }
    dt { color: var(--muted); } dd { margin: 0; } h3 { font-size: .9rem; margin: 1rem 0 .4rem; }
    .finding { border-left: 3px solid var(--error); padding-left: .5rem; margin: .3rem 0; font-size: .88rem; }
  `,
})
export class SpanInspector {
  readonly span = input.required<SpanView>();
  readonly findings = input<Finding[]>([]);
  protected readonly formatMs = formatMs;
  protected readonly formatUsd = formatUsd;
  protected readonly formatTime = formatTime;
  protected readonly inputMessages = computed(() => extractMessages(this.span().input));
  protected readonly outputMessages = computed(() => extractMessages(this.span().output, this.span().kind === 'llm' ? 'assistant' : undefined));
}
