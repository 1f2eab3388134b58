import { ChangeDetectionStrategy, Component, inject, input, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { Router } from '@angular/router';
import { AuthService } from '../auth.service';

@Component({
  selector: 'as-login',
  imports: [FormsModule],
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './login.html',
  styleUrl: './login.css',
})
export class Login {
  private readonly auth = inject(AuthService);
  private readonly router = inject(Router);
  /** Query parameters: where to go after signing in, and why we are here. */
  readonly next = input<string>();
  readonly error = input<string>();
  protected readonly key = signal('');
  protected readonly refused = signal(false);
  protected readonly busy = signal(false);

  protected async submit(): Promise<void> {
    if (!this.key().trim()) return;
    this.busy.set(true);
    const ok = await this.auth.signInWithKey(this.key());
    this.busy.set(false);
    this.refused.set(!ok);
    if (ok) await this.router.navigateByUrl(this.next() ?? '/overview');
  }
}
