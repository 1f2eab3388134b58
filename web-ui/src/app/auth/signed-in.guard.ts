import { inject } from '@angular/core';
import { CanActivateFn, Router } from '@angular/router';
import { AuthService } from './auth.service';

/** No page with data opens before the server accepted a session or a read key. */
export const signedIn: CanActivateFn = async (_route, state) => {
  const auth = inject(AuthService);
  if (auth.identity() || (await auth.check())) return true;
  return inject(Router).createUrlTree(['/login'], { queryParams: { next: state.url } });
};
