import { inject } from '@angular/core';
import { CanActivateFn, Router } from '@angular/router';
import { AuthService } from './auth.service';

/** No page with data opens before the server accepted a session or a read key. */
export const signedIn: CanActivateFn = async (_route, state) => {
  // inject() only works before the first await.
  const auth = inject(AuthService);
  const router = inject(Router);
  if (auth.identity() || (await auth.check())) return true;
  return router.createUrlTree(['/login'], { queryParams: { next: state.url } });
};
