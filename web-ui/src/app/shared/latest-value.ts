import { ResourceRef, Signal, linkedSignal } from '@angular/core';

/**
 * A resource's value that outlives a reload: while the resource loads for new params (a new time
 * range), this still gives the previous value instead of `undefined`. Reading `resource.value()`
 * directly would empty every `@if` on a range change, so each chart would be torn down, the empty
 * state would flash, and every chart would be created again (and replay ngx-charts' fade-in).
 * Undefined before the first value and after an error (where `value()` itself would throw).
 */
export function latestValue<T>(resource: ResourceRef<T | undefined>): Signal<T | undefined> {
  return linkedSignal<{ value: T | undefined; loading: boolean }, T | undefined>({
    source: () => ({ value: resource.hasValue() ? resource.value() : undefined, loading: resource.isLoading() }),
    computation: (next, previous) => next.value ?? (next.loading ? previous?.value : undefined),
  });
}
