import { describe, expect, it } from 'vitest';
import { pageHref, paginate } from './support.ts';

const href = (page: number) => `/?page=${page}`;

describe('paginate', () => {
  it('shows a single page for an empty or short listing', () => {
    expect(paginate(1, 0, 10, href)).toEqual({ current: 1, pages: 1, links: [{ number: 1, href: '/?page=1' }] });
    expect(paginate(1, 10, 10, href).pages).toBe(1);
  });

  it('shows the first and last page, two either side of the current one, and gaps between', () => {
    const { pages, links } = paginate(10, 200, 10, href);
    expect(pages).toBe(20);
    expect(links.map((link) => link.number ?? '…')).toEqual([1, '…', 8, 9, 10, 11, 12, '…', 20]);
  });

  it('leaves no gap where the pages meet', () => {
    expect(paginate(3, 50, 10, href).links.map((link) => link.number ?? '…')).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('pageHref', () => {
  it('keeps the other parameters, drops empty ones, and leaves page 1 out', () => {
    expect(pageHref('/', { tag: 'dragons', feed: undefined, q: '' }, 1)).toBe('/?tag=dragons');
    expect(pageHref('/', { tag: 'a b&c' }, 3)).toBe('/?tag=a+b%26c&page=3');
    expect(pageHref('/admin/users', {}, 1)).toBe('/admin/users');
  });
});
