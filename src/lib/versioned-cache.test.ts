import { describe, expect, it } from 'vitest';
import { VersionedCache } from './versioned-cache.ts';

describe('VersionedCache', () => {
  it('answers a value only for the version it was stored under', () => {
    const cache = new VersionedCache<string>(10);
    cache.set('page', 'v1', 'made at v1');

    expect(cache.get('page', 'v1')).toBe('made at v1');
    expect(cache.get('page', 'v2')).toBeUndefined();
    // The stale entry is dropped on sight, even for a reader that still sees v1.
    expect(cache.get('page', 'v1')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('replaces the value of a key and keeps its weight right', () => {
    const cache = new VersionedCache<string>(100, (value) => value.length);
    cache.set('page', 'v1', 'aaaa');
    cache.set('page', 'v2', 'bb');

    expect(cache.get('page', 'v2')).toBe('bb');
    expect(cache.weight).toBe(2);
  });

  it('evicts the least recently used entries once over its weight', () => {
    const cache = new VersionedCache<string>(6, (value) => value.length);
    cache.set('a', 'v', 'aa');
    cache.set('b', 'v', 'bb');
    cache.set('c', 'v', 'cc');
    cache.get('a', 'v'); // a is now the most recently used

    cache.set('d', 'v', 'dd');

    expect(cache.get('b', 'v')).toBeUndefined();
    expect(cache.get('a', 'v')).toBe('aa');
    expect(cache.get('c', 'v')).toBe('cc');
    expect(cache.get('d', 'v')).toBe('dd');
    expect(cache.weight).toBe(6);
  });

  it('does not keep a value heavier than the whole cache', () => {
    const cache = new VersionedCache<string>(3, (value) => value.length);
    cache.set('small', 'v', 'abc');
    cache.set('huge', 'v', 'abcd');

    expect(cache.get('huge', 'v')).toBeUndefined();
    expect(cache.get('small', 'v')).toBe('abc');
  });

  it('counts entries when no weight is given', () => {
    const cache = new VersionedCache<number>(2);
    cache.set('a', 'v', 1);
    cache.set('b', 'v', 2);
    cache.set('c', 'v', 3);

    expect(cache.size).toBe(2);
    expect(cache.get('a', 'v')).toBeUndefined();
  });
});
