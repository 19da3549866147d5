import { randomBytes } from 'node:crypto';
import slugify from '@sindresorhus/slugify';
import { violatedUniqueConstraint } from '../../db/errors.ts';

const MAX_BASE_LENGTH = 80;
const SLUG_ATTEMPTS = 5;
const SUFFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * The slug to try for a title: the plain slug first, then with a random suffix when an
 * earlier attempt collided (the unique constraint on articles.slug is what decides).
 */
export function slugCandidate(title: string, attempt: number): string {
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
      return await write(slugCandidate(title, attempt));
    } catch (error) {
      const slugTaken = violatedUniqueConstraint(error)?.includes('slug') === true;
      if (!slugTaken || attempt + 1 >= SLUG_ATTEMPTS) throw error;
    }
  }
}
