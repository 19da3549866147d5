/**
 * Characters a redirect target may contain: RFC 3986's unreserved and reserved characters and
 * percent escapes, nothing else. Anything outside this set (controls, spaces, backslashes,
 * non-ASCII) either makes Node refuse the Location header or lets a browser read the target
 * as another host (`/\t/evil.com` becomes `//evil.com`).
 */
const SAFE_TARGET = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/?#%]*$/;
const PLACEHOLDER_ORIGIN = 'http://shipshape.invalid';

/**
 * Where to send a browser after a form or a sign-in: `value` when it is a path on this site
 * made only of safe characters, `fallback` otherwise. The result is always safe to put in a
 * Location header.
 */
export function localRedirectTarget(value: string | undefined, fallback = '/'): string {
  if (value === undefined || !SAFE_TARGET.test(value) || value.startsWith('//')) return fallback;
  let parsed: URL;
  try {
    parsed = new URL(value, PLACEHOLDER_ORIGIN);
  } catch {
    return fallback;
  }
  return parsed.origin === PLACEHOLDER_ORIGIN ? value : fallback;
}
