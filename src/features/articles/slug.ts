import { randomBytes } from 'node:crypto';
import slugify from '@sindresorhus/slugify';

const MAX_BASE_LENGTH = 80;
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
