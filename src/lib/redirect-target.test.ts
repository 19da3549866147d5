import { describe, expect, it } from 'vitest';
import { localRedirectTarget } from './redirect-target.ts';

describe('localRedirectTarget', () => {
  it.each([
    ['/', '/'],
    ['/article/how-to-train-your-dragon', '/article/how-to-train-your-dragon'],
    ['/?feed=yours&page=2', '/?feed=yours&page=2'],
    ['/article/a#comment-3', '/article/a#comment-3'],
    ['/profile/%E6%97%A5', '/profile/%E6%97%A5'],
    ['/%09/evil.com', '/%09/evil.com'],
    ['/..//evil.com', '/..//evil.com'],
  ])('keeps the same-site path %j', (value, expected) => {
    expect(localRedirectTarget(value)).toBe(expected);
  });

  it.each([
    ['undefined', undefined],
    ['an empty string', ''],
    ['a relative path', 'article/x'],
    ['an absolute URL', 'https://evil.com/'],
    ['a protocol-relative URL', '//evil.com'],
    ['a backslash after the slash', '/\\evil.com'],
    ['a tab that browsers drop', '/\t/evil.com'],
    ['a tab and a backslash', '/\t\\evil.com'],
    ['a newline (header injection)', '/\nSet-Cookie: a=b'],
    ['a carriage return', '/\r'],
    ['non-ASCII text', '/日'],
    ['a line separator', '/é\u2028x'],
    ['a space', '/a b'],
    ['a NUL byte', '/\u0000'],
    ['a javascript: URL', 'javascript:alert(1)'],
  ])('falls back for %s', (_case, value) => {
    expect(localRedirectTarget(value, '/fallback')).toBe('/fallback');
  });

  it('falls back to the site root by default', () => {
    expect(localRedirectTarget('//evil.com')).toBe('/');
  });
});
