import { describe, expect, it } from 'vitest';
import { parseTags } from './articles.ts';

describe('parseTags', () => {
  it('splits the editor\'s comma-separated field, trimming and dropping empty entries', () => {
    expect(parseTags('dragons, training ,,  ')).toEqual(['dragons', 'training']);
    expect(parseTags('one')).toEqual(['one']);
  });

  it('reads a missing or blank field as no tags', () => {
    expect(parseTags(undefined)).toEqual([]);
    expect(parseTags('  , ')).toEqual([]);
  });
});
