/**
 * True for a payload erased by crypto-shredding: the read API shows it as exactly `{"erased": true}`
 * (docs/privacy.md). Shown as "erased", never as raw JSON.
 */
export function isErased(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (value as Record<string, unknown>)['erased'] === true;
}
