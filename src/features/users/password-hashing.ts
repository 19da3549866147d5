import { onFirstUse } from '../../lib/on-first-use.ts';

/** The native argon2 binding, loaded by the first sign-up or sign-in rather than at start-up. */
const argon2 = onFirstUse(() => import('@node-rs/argon2'));

/** argon2id with OWASP's recommended minimum: 19 MiB of memory, 2 iterations, 1 lane. */
export const ARGON2_OPTIONS = {
  algorithm: 2, // Algorithm.Argon2id (a const enum, which isolated modules cannot import)
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

export async function hashPassword(password: string): Promise<string> {
  const { hash } = await argon2();
  return hash(password, ARGON2_OPTIONS);
}

let decoyHash: Promise<string> | undefined;

/**
 * Checks a password against a stored hash. With no stored hash (unknown account) it still
 * spends the same time on a decoy, so response time does not reveal which emails exist.
 */
export async function passwordMatches(storedHash: string | undefined, password: string): Promise<boolean> {
  const { verify } = await argon2();
  if (storedHash === undefined) {
    decoyHash ??= hashPassword('decoy password that never matches');
    await verify(await decoyHash, password);
    return false;
  }
  try {
    return await verify(storedHash, password);
  } catch {
    return false;
  }
}
