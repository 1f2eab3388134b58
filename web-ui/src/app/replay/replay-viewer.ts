import { Location } from '@angular/common';
import { ChangeDetectionStrategy, Component, computed, effect, inject, input, signal, untracked } from '@angular/core';
import { rxResource } from '@angular/core/rxjs-interop';
import { RouterLink } from '@angular/router';
import { ApiService } from '../api/api.service';
import { ReplayEvent } from '../api/models';
import { formatTime, formatUsd } from '../shared/format';
import { Speed, Speeds, delayAfter, findingStep, indentJson, runIsOver, stateAt } from './replay-state';

/**
 * The Time Machine (issue 7): plays a trace's stored event stream back step by step, showing at each
 * step the agent's state as it was (docs/architecture.md, invariant 5: the events are those recorded). A run still in
 * progress keeps growing (issue 16): after the stored events, the viewer follows the replay endpoint's live feed.
 */
@Component({
  selector: 'as-replay-viewer',
  imports: [RouterLink],
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './replay-viewer.html',
  styleUrl: './replay-viewer.css',
  host: { '(document:keydown)': 'onKey($event)' },
})
export class ReplayViewer {
  private readonly api = inject(ApiService);
  private readonly location = inject(Location);
  /** Route parameter and the deep link's `?version=N`. */
  readonly traceId = input.required<string>();
  readonly version = input<string>();
  /** `?position=N`: the step of that log position (a finding's link, issue 15.5). */
  readonly position = input<string>();

  protected readonly speeds = Speeds;
  protected readonly formatUsd = formatUsd;
  protected readonly formatTime = formatTime;
  protected readonly replay = rxResource({ params: () => this.traceId(), stream: ({ params }) => this.api.replay(params) });
  /** While the stored events show a run in progress, the events appended after them, pushed by the server. */
  protected readonly feed = rxResource({
    params: () => {
      const stored = this.replay.value();
      return stored && stored.length > 0 && !runIsOver(stored) ? { traceId: this.traceId(), from: stored[stored.length - 1].version + 1 } : undefined;
    },
    stream: ({ params }) => this.api.followReplay(params.traceId, params.from),
  });
  /** The detectors' findings on this trace (issue 15.5), each shown at the step it was found in. */
  protected readonly findings = rxResource({
    params: () => this.traceId(),
    stream: ({ params }) => this.api.findingList({ traceId: params, limit: 500 }),
  });
  protected readonly events = computed(() => [...(this.replay.value() ?? []), ...(this.feed.value()?.events ?? [])]);
  /** The run is still being recorded and the feed is open. */
  protected readonly live = computed(() => this.feed.value()?.live ?? false);
  private applied: string | null = null;
  private seen = 0;
  protected readonly index = signal(0);
  protected readonly playing = signal(false);
  protected readonly speed = signal<Speed>('1');

  protected readonly event = computed<ReplayEvent | null>(() => this.events()[this.index()] ?? null);
  protected readonly state = computed(() => stateAt(this.events(), this.index()));
  /** The event as stored: from its text, as a parse would alter large integers, decimals and key order. */
  protected readonly payload = computed(() => {
    const event = this.event();
    return event?.raw ? indentJson(event.raw) : JSON.stringify(event, null, 2);
  });
  protected readonly first = computed(() => this.events()[0]?.version ?? 1);
  protected readonly last = computed(() => this.events().at(-1)?.version ?? 1);
  protected readonly atEnd = computed(() => this.index() >= this.events().length - 1);
  /** Every finding with its step, in step order; a finding whose step is not recorded (yet) is left out. */
  protected readonly findingSteps = computed(() => {
    const events = this.events();
    return (this.findings.value()?.items ?? []).map((finding) => ({ finding, step: findingStep(events, finding) }))
      .filter((f) => f.step >= 0).sort((a, b) => a.step - b.step || b.finding.score - a.finding.score);
  });
  /** The findings of the current step. */
  protected readonly stepFindings = computed(() => this.findingSteps().filter((f) => f.step === this.index()).map((f) => f.finding));
  /** Per span id, the kinds of the findings recorded up to the current step (the span tree's badges). */
  protected readonly spanFindings = computed(() => {
    const bySpan = new Map<string, string[]>();
    for (const { finding, step } of this.findingSteps()) {
      if (step > this.index()) continue;
      const kinds = bySpan.get(finding.spanId) ?? [];
      if (!kinds.includes(finding.kind)) bySpan.set(finding.spanId, [...kinds, finding.kind]);
    }
    return bySpan;
  });
  protected readonly kindLabel = kindLabel;

  constructor() {
    // The deep link picks the step once the events are there (and whenever the link changes). Events pushed live
    // later keep the step, unless the viewer was on the last one: then it follows the run as it grows.
    effect(() => {
      const events = this.events();
      const link = `${this.traceId()}|${this.version()}|${this.position()}`;
      if (events.length === 0) return;
      untracked(() => {
        const previous = this.seen;
        this.seen = events.length;
        if (this.applied === link) {
          if (!this.playing() && this.index() === previous - 1) this.index.set(events.length - 1);
          return;
        }
        this.applied = link;
        const wanted = Number(this.version());
        const wantedPosition = Number(this.position());
        const at = Number.isFinite(wanted) && this.version() !== undefined ? events.findIndex((e) => e.version >= wanted)
          : Number.isFinite(wantedPosition) && this.position() !== undefined ? events.findIndex((e) => e.position >= wantedPosition) : 0;
        this.index.set(at < 0 ? events.length - 1 : at);
      });
    });
    // The address bar follows the step, so any moment can be shared; replaceState keeps history clean.
    effect(() => {
      const event = this.event();
      if (event) this.location.replaceState(`/traces/${encodeURIComponent(this.traceId())}/replay`, `version=${event.version}`);
    });
    // Playing: one timer per step, cleared on pause, on a manual step and when the viewer closes.
    effect((onCleanup) => {
      if (!this.playing()) return;
      const index = this.index();
      const events = this.events();
      if (index >= events.length - 1) {
        untracked(() => this.playing.set(false));
        return;
      }
      const timer = setTimeout(() => this.index.set(index + 1), delayAfter(events, index, this.speed()));
      onCleanup(() => clearTimeout(timer));
    });
  }

  protected play(): void {
    if (this.atEnd()) this.index.set(0);
    this.playing.set(true);
  }

  protected pause(): void { this.playing.set(false); }
  protected toggle(): void { if (this.playing()) this.pause(); else this.play(); }

  protected stepForward(): void {
    this.pause();
    this.index.update((i) => Math.min(i + 1, this.events().length - 1));
  }

  protected stepBack(): void {
    this.pause();
    this.index.update((i) => Math.max(i - 1, 0));
  }

  protected goTo(index: number): void {
    this.index.set(Math.min(Math.max(index, 0), Math.max(this.events().length - 1, 0)));
  }

  protected scrub(event: Event): void {
    const version = Number((event.target as HTMLInputElement).value);
    const at = this.events().findIndex((e) => e.version >= version);
    this.pause();
    this.goTo(at < 0 ? this.events().length - 1 : at);
  }

  protected setSpeed(event: Event): void {
    this.speed.set((event.target as HTMLSelectElement).value as Speed);
  }

  protected onKey(event: KeyboardEvent): void {
    const target = event.target as HTMLElement | null;
    if (target && (['INPUT', 'SELECT', 'TEXTAREA'].includes(target.tagName) && target.getAttribute('type') !== 'range' || target.isContentEditable)) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const handled = (() => {
      switch (event.key) {
        case ' ': case 'k': this.toggle(); return true;
        case 'ArrowRight': case 'l': this.stepForward(); return true;
        case 'ArrowLeft': case 'j': this.stepBack(); return true;
        case 'Home': this.pause(); this.goTo(0); return true;
        case 'End': this.pause(); this.goTo(this.events().length - 1); return true;
        case '1': this.speed.set('1'); return true;
        case '2': this.speed.set('2'); return true;
        case '3': this.speed.set('10'); return true;
        case '4': this.speed.set('real'); return true;
        default: return false;
      }
    })();
    if (handled) event.preventDefault();
  }
}

/** `prompt_injection` → `prompt injection`. */
export function kindLabel(kind: string): string {
  return kind.replace(/_/g, ' ');
}
