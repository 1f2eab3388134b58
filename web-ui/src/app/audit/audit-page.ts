import { ChangeDetectionStrategy, Component, computed, inject, signal } from '@angular/core';
import { EraseSubject } from './erase-subject/erase-subject';
import { rxResource } from '@angular/core/rxjs-interop';
import { DatePipe, DecimalPipe } from '@angular/common';
import { firstValueFrom } from 'rxjs';
import { AuditApi, AuditScope, VerificationReport } from './audit-api';
import { problemText, problemTextOfDownload } from '../shared/problem';

/**
 * The auditor's page (issue 14, point 7; docs/audit.md): verify a trace, a time range or the whole
 * project and see each break with its kind; download a signed export; see the newest signed checkpoints
 * and the public key that checks them. Erasing a subject is its own panel, built apart (see the
 * `erasure` slot below).
 */
@Component({
  selector: 'as-audit-page',
  imports: [DatePipe, DecimalPipe, EraseSubject],
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './audit-page.html',
  styleUrl: './audit-page.css',
})
export class AuditPage {
  private readonly api = inject(AuditApi);

  protected readonly traceId = signal('');
  protected readonly from = signal('');
  protected readonly to = signal('');
  protected readonly verifying = signal(false);
  protected readonly report = signal<VerificationReport | null>(null);
  protected readonly verifiedScope = signal('');
  protected readonly error = signal<string | null>(null);
  protected readonly exporting = signal(false);

  protected readonly checkpoints = rxResource({ stream: () => this.api.checkpoints(10) });
  protected readonly publicKey = rxResource({ stream: () => this.api.publicKey() });
  protected readonly checkpointsError = computed(() => problemText(this.checkpoints.error()));
  protected readonly breakCount = computed(() => {
    const r = this.report();
    return r ? r.breaks.length + r.breaksOmitted : 0;
  });

  private scope(): AuditScope {
    const iso = (local: string) => (local ? new Date(local).toISOString() : undefined);
    return this.traceId().trim()
      ? { traceId: this.traceId().trim() }
      : { from: iso(this.from()), to: iso(this.to()) };
  }

  private describe(scope: AuditScope): string {
    if (scope.traceId) return `trace ${scope.traceId}`;
    if (scope.from || scope.to) return `project, ${scope.from ?? '…'} to ${scope.to ?? '…'}`;
    return 'whole project';
  }

  protected async verify(): Promise<void> {
    const scope = this.scope();
    this.verifying.set(true);
    this.error.set(null);
    try {
      this.report.set(await firstValueFrom(this.api.verify(scope)));
      this.verifiedScope.set(this.describe(scope));
    } catch (e) {
      this.report.set(null);
      this.error.set(`Verification failed: ${problemText(e)}`);
    } finally {
      this.verifying.set(false);
    }
  }

  protected async download(): Promise<void> {
    const scope = this.scope();
    this.exporting.set(true);
    this.error.set(null);
    try {
      const blob = await firstValueFrom(this.api.export(scope));
      const url = URL.createObjectURL(blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = `audit-${scope.traceId ?? 'project'}.ndjson`;
      link.click();
      URL.revokeObjectURL(url);
    } catch (e) {
      this.error.set(`Export failed: ${await problemTextOfDownload(e)}`);
    } finally {
      this.exporting.set(false);
    }
  }

  protected short(hash: string): string {
    return hash ? `${hash.slice(0, 12)}…` : '—';
  }
}
