import { HttpErrorResponse, HttpInterceptorFn } from '@angular/common/http';
import { inject } from '@angular/core';
import { Router } from '@angular/router';
import { catchError, throwError } from 'rxjs';
import { AuthService } from './auth.service';

/** Sends the pasted key, if any; a 401 means the key or session is gone: back to sign-in. */
export const authInterceptor: HttpInterceptorFn = (request, next) => {
  const auth = inject(AuthService);
  const router = inject(Router);
  const key = auth.key();
  const sent = key && request.url.startsWith('/api/') ? request.clone({ setHeaders: { Authorization: `Bearer ${key}` } }) : request;
  return next(sent).pipe(catchError((error: unknown) => {
    if (error instanceof HttpErrorResponse && error.status === 401) {
      auth.forget();
      void router.navigateByUrl('/login');
    }
    return throwError(() => error);
  }));
};
