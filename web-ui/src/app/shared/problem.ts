import { HttpErrorResponse } from '@angular/common/http';

interface Problem { title?: string; detail?: string; errors?: Record<string, string[]>; }

/** The HTTP error behind an error (a resource wraps what is not an `Error` in one, with the original as `cause`). */
function httpError(e: unknown): HttpErrorResponse | null {
  if (e instanceof HttpErrorResponse) return e;
  const cause = e instanceof Error ? (e as Error & { cause?: unknown }).cause : undefined;
  return cause instanceof HttpErrorResponse ? cause : null;
}

function said(body: unknown, status: number): string {
  const problem = body && typeof body === 'object' && !(body instanceof Blob) ? (body as Problem) : null;
  const fields = problem?.errors ? Object.values(problem.errors).flat().join(' ') : '';
  if (fields) return fields;
  if (problem?.title && problem.detail) return `${problem.title}: ${problem.detail}`;
  return problem?.detail || problem?.title || `The server answered ${status}.`;
}

/**
 * What the server said of a failed request (an RFC 9457 problem: its validation errors, else its title and detail),
 * or its status when it said nothing readable.
 */
export function problemText(e: unknown): string {
  const http = httpError(e);
  if (http) return said(http.error, http.status);
  return e instanceof Error ? e.message : 'The request failed.';
}

/** The same for a request whose answer was to be a file (`responseType: 'blob'`): the problem arrives as a Blob. */
export async function problemTextOfDownload(e: unknown): Promise<string> {
  const http = httpError(e);
  if (http?.error instanceof Blob) {
    try {
      return said(JSON.parse(await readText(http.error)), http.status);
    } catch {
      return said(null, http.status);
    }
  }
  return problemText(e);
}

/** A Blob's text through FileReader, which every browser and the test DOM have (jsdom has no `Blob.text()`). */
function readText(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result as string);
    reader.onerror = () => reject(reader.error);
    reader.readAsText(blob);
  });
}
