import { HttpBackend, HttpClient } from '@angular/common/http';
import { Injectable, inject, signal } from '@angular/core';
import { firstValueFrom } from 'rxjs';
import { Identity } from '../api/models';

const KeyStorage = 'agentstack.readKey';

/**
 * Who the dashboard reads as. Either the HttpOnly session cookie the server set when a one-time sign-in
 * link was opened (never visible here), or a pasted project key with the read scope, kept in
 * sessionStorage for this tab only and sent as a Bearer header by the interceptor.
 */
@Injectable({ providedIn: 'root' })
export class AuthService {
  // HttpBackend: these calls skip the interceptor, which itself depends on this service.
  private readonly http = new HttpClient(inject(HttpBackend));
  readonly identity = signal<Identity | null>(null);

  key(): string | null {
    return sessionStorage.getItem(KeyStorage);
  }

  /** Asks the server who we are; null when neither a session nor a key is accepted. */
  async check(): Promise<Identity | null> {
    const key = this.key();
    try {
      const identity = await firstValueFrom(this.http.get<Identity>('/api/session',
        key ? { headers: { Authorization: `Bearer ${key}` } } : {}));
      const accepted = identity.signedIn ? identity : null;
      this.identity.set(accepted);
      return accepted;
    } catch {
      this.identity.set(null);
      return null;
    }
  }

  async signInWithKey(key: string): Promise<boolean> {
    sessionStorage.setItem(KeyStorage, key.trim());
    if (await this.check()) return true;
    sessionStorage.removeItem(KeyStorage);
    return false;
  }

  async signOut(): Promise<void> {
    sessionStorage.removeItem(KeyStorage);
    this.identity.set(null);
    try { await firstValueFrom(this.http.post('/signout', null)); } catch { /* signed out locally either way */ }
  }

  forget(): void {
    sessionStorage.removeItem(KeyStorage);
    this.identity.set(null);
  }
}
