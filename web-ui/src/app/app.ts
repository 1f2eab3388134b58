import { ChangeDetectionStrategy, Component, inject } from '@angular/core';
import { Router, RouterLink, RouterLinkActive, RouterOutlet } from '@angular/router';
import { AuthService } from './auth/auth.service';

@Component({
  selector: 'as-root',
  imports: [RouterOutlet, RouterLink, RouterLinkActive],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <header class="top">
      <a class="brand" routerLink="/overview">AgentStack</a>
      @if (auth.identity(); as id) {
        <nav aria-label="Main">
          <a routerLink="/overview" routerLinkActive="active">Overview</a>
          <a routerLink="/traces" routerLinkActive="active">Traces</a>
          <a routerLink="/sessions" routerLinkActive="active">Sessions</a>
          <a routerLink="/findings" routerLinkActive="active">Findings</a>
          @if (id.scopes.includes('admin')) {
            <a routerLink="/admin" routerLinkActive="active">Keys</a>
            @if (id.project === 'default') {
              <!-- Projection operations are the operator's: an admin key of project default (docs/administration.md). -->
              <a routerLink="/operations" routerLinkActive="active">Operations</a>
            }
          }
          <a routerLink="/audit" routerLinkActive="active">Audit</a>
        </nav>
        <span class="who">project <strong>{{ id.project }}</strong> · {{ id.method === 'link' ? 'signed in by link' : 'project key' }}</span>
        <button type="button" (click)="signOut()">Sign out</button>
      }
    </header>
    <main><router-outlet /></main>
  `,
  styles: `
    .top { display: flex; align-items: center; gap: 1.25rem; padding: .6rem 1.25rem; background: #14263d; color: #dbe7f5; }
    .brand { color: #fff; font-weight: 700; text-decoration: none; font-size: 1.1rem; }
    nav { display: flex; gap: 1rem; }
    nav a { color: #b8cbe0; text-decoration: none; padding: .2rem 0; }
    nav a.active { color: #fff; border-bottom: 2px solid #7cc4ff; }
    .who { margin-left: auto; font-size: .85rem; }
    main { padding: 1.25rem; max-width: 1800px; margin: 0 auto; }
  `,
})
export class App {
  protected readonly auth = inject(AuthService);
  private readonly router = inject(Router);

  protected async signOut(): Promise<void> {
    await this.auth.signOut();
    await this.router.navigateByUrl('/login');
  }
}
