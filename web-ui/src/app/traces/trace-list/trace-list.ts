import { ChangeDetectionStrategy, Component, DestroyRef, computed, effect, inject, input, linkedSignal, signal } from '@angular/core';
import { rxResource } from '@angular/core/rxjs-interop';
import { RouterLink } from '@angular/router';
import { firstValueFrom } from 'rxjs';
import { ApiService } from '../../api/api.service';
import { TraceSummary } from '../../api/models';
import { formatMs, formatTime, formatUsd } from '../../shared/format';
import { TimeRangePicker } from '../../shared/time-range-picker';
import { TimeRangeService } from '../../shared/time-range.service';

export const LiveIntervalMs = 5000;
const Kinds = ['agent', 'chain', 'llm', 'tool', 'retrieval', 'embedding', 'guardrail', 'other'];

@Component({
  selector: 'as-trace-list',
  imports: [RouterLink, TimeRangePicker],
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './trace-list.html',
  styleUrl: './trace-list.css',
})
export class TraceListPage {
  private readonly api = inject(ApiService);
  protected readonly ranges = inject(TimeRangeService);
  protected readonly formatMs = formatMs;
  protected readonly formatUsd = formatUsd;
  protected readonly formatTime = formatTime;
  protected readonly kinds = Kinds;

  protected readonly status = signal('');
  protected readonly model = signal('');
  protected readonly kind = signal('');
  protected readonly text = signal('');
  protected readonly sessionId = signal('');
  protected readonly userId = signal('');
  /** Only traces with a finding of the detectors (issue 15.5): '', any or a kind; preset by `?finding=`. */
  readonly finding = input<string>();
  protected readonly findingFilter = linkedSignal(() => this.finding() ?? '');
  protected readonly live = signal(true);
  /** Up to two traces picked for the comparison view, oldest pick first. */
  protected readonly picked = signal<string[]>([]);
  /** The traces shown when "Load more" was last used, and the pages it loaded. */
  protected readonly more = signal<TraceSummary[]>([]);
  protected readonly next = signal<string | null>(null);
  protected readonly loadingMore = signal(false);
  private readonly tick = signal(0);

  private readonly query = computed(() => ({
    ...this.ranges.range(), status: this.status(), model: this.model(), kind: this.kind(), q: this.text().trim(),
    sessionId: this.sessionId().trim(), userId: this.userId().trim(), finding: this.findingFilter(),
  }));
  protected readonly options = rxResource({ params: () => this.ranges.range(), stream: ({ params }) => this.api.filters(params) });
  protected readonly first = rxResource({
    params: () => ({ ...this.query(), tick: this.tick() }),
    stream: ({ params: { tick: _, ...q } }) => this.api.traces({ ...q, to: this.liveTo(q.to) }),
  });
  protected readonly items = computed(() => {
    const first = this.first.value()?.items ?? [];
    const seen = new Set(first.map((t) => t.traceId));
    return [...first, ...this.more().filter((t) => !seen.has(t.traceId))];
  });

  constructor() {
    // A new filter starts over from the first page.
    effect(() => {
      this.query();
      this.more.set([]);
    });
    effect(() => {
      const page = this.first.value();
      if (page && this.more().length === 0) this.next.set(page.next);
    });
    // Live updates: re-read the first page while "Live" is on, so new traces appear on top.
    const timer = setInterval(() => { if (this.live()) this.tick.update((t) => t + 1); }, LiveIntervalMs);
    inject(DestroyRef).onDestroy(() => clearInterval(timer));
  }

  /** While live, the range's end follows the clock, so traces arriving after the range was picked show up. */
  private liveTo(to: string): string {
    return this.live() ? new Date(Math.max(Date.parse(to), Date.now() + 1000)).toISOString() : to;
  }

  protected async loadMore(): Promise<void> {
    const cursor = this.next();
    if (!cursor) return;
    this.loadingMore.set(true);
    try {
      const page = await firstValueFrom(this.api.traces({ ...this.query(), cursor }));
      // The first page as shown is kept too: a live refresh that pushes a trace off it must not drop the trace (the next
      // page starts after it).
      this.more.set([...this.items(), ...page.items]);
      this.next.set(page.next);
    } finally {
      this.loadingMore.set(false);
    }
  }

  /** Picking a third trace drops the oldest pick. */
  protected togglePick(traceId: string): void {
    this.picked.update((p) => p.includes(traceId) ? p.filter((t) => t !== traceId) : [...p, traceId].slice(-2));
  }

  protected value(event: Event): string {
    return (event.target as HTMLInputElement | HTMLSelectElement).value;
  }
}
