import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.ts';

export const DEV_JWT_SECRET_FILE = 'jwt-secret';

/**
 * Outside production a missing JWT_SECRET is generated once and kept in DATA_DIR, so tokens
 * survive restarts on a laptop. Production refuses to start without one (see config.ts).
 */
export function ensureJwtSecret(config: Config, warn: (message: string) => void): Config {
  if (config.jwtSecret !== undefined) return config;
  const file = join(config.dataDir, DEV_JWT_SECRET_FILE);
  let secret: string;
  try {
    secret = readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    mkdirSync(config.dataDir, { recursive: true });
    secret = randomBytes(48).toString('base64url');
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  }
  warn(`JWT_SECRET is not set: using the development secret in ${file}. Set JWT_SECRET in production.`);
  return Object.freeze({ ...config, jwtSecret: secret });
}
