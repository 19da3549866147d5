import { describe, expect, it } from 'vitest';
import { slugCandidate } from './slug.ts';

describe('slugCandidate', () => {
  it('makes a lower-case, hyphenated slug of the title on the first attempt', async () => {
    expect(await slugCandidate('How to Train Your Dragon', 0)).toBe('how-to-train-your-dragon');
    expect(await slugCandidate('  Ça marche, déjà!  ', 0)).toBe('ca-marche-deja');
  });

  it('falls back to "article" when the title has nothing to keep', async () => {
    expect(await slugCandidate('!!! ???', 0)).toBe('article');
    expect(await slugCandidate('日本語', 0)).toMatch(/^[a-z0-9-]+$/);
  });

  it('cuts long titles to 80 characters without a trailing hyphen', async () => {
    const slug = await slugCandidate(`${'word '.repeat(40)}end`, 0);
    expect(slug.length).toBeLessThanOrEqual(80);
    expect(slug.endsWith('-')).toBe(false);
  });

  it('adds a six-character random suffix on later attempts, different each time', async () => {
    const first = await slugCandidate('Taken', 1);
    const second = await slugCandidate('Taken', 2);
    expect(first).toMatch(/^taken-[a-z0-9]{6}$/);
    expect(second).toMatch(/^taken-[a-z0-9]{6}$/);
    expect(first).not.toBe(second);
  });
});
