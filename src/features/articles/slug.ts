import { randomBytes } from 'node:crypto';
import { violatedUniqueConstraint } from '../../db/errors.ts';
import { onFirstUse } from '../../lib/on-first-use.ts';

/** slugify and its transliteration tables, loaded by the first article written, not at start-up. */
const slugifier = onFirstUse(async () => (await import('@sindresorhus/slugify')).default);

const MAX_BASE_LENGTH = 80;
const SLUG_ATTEMPTS = 5;
const SUFFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * The slug to try for a title: the plain slug first, then with a random suffix when an
 * earlier attempt collided (the unique constraint on articles.slug is what decides).
 */
export async function slugCandidate(title: string, attempt: number): Promise<string> {
  const slugify = await slugifier();
  const base = slugify(title).slice(0, MAX_BASE_LENGTH).replace(/-+$/, '') || 'article';
  return attempt === 0 ? base : `${base}-${randomSuffix(6)}`;
}

function randomSuffix(length: number): string {
  return [...randomBytes(length)].map((byte) => SUFFIX_ALPHABET[byte % SUFFIX_ALPHABET.length]).join('');
}

/**
 * Runs `write` with slug candidates for `title` until one is not taken: the unique constraint
 * decides, so two writers racing for one slug cannot both get it.
 */
export async function withUniqueSlug(title: string, write: (slug: string) => Promise<string>): Promise<string> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await write(await slugCandidate(title, attempt));
    } catch (error) {
      const slugTaken = violatedUniqueConstraint(error)?.includes('slug') === true;
      if (!slugTaken || attempt + 1 >= SLUG_ATTEMPTS) throw error;
    }
  }
}
