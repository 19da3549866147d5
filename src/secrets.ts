import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.ts';

export const DEV_JWT_SECRET_FILE = 'jwt-secret';
export const DEV_SESSION_SECRET_FILE = 'session-secret';

/** A Config whose signing keys are known. */
export type ConfigWithSecrets = Config & { readonly jwtSecret: string; readonly sessionSecret: string };

/**
 * Outside production a missing JWT_SECRET or SESSION_SECRET is generated once and kept in
 * DATA_DIR, so tokens and sessions survive restarts on a laptop. Production refuses to start
 * without them (see config.ts).
 */
export function ensureSecrets(config: Config, warn: (message: string) => void): ConfigWithSecrets {
  const jwtSecret = config.jwtSecret ?? developmentSecret(config.dataDir, DEV_JWT_SECRET_FILE, 'JWT_SECRET', warn);
  const sessionSecret = config.sessionSecret ?? developmentSecret(config.dataDir, DEV_SESSION_SECRET_FILE, 'SESSION_SECRET', warn);
  if (jwtSecret === config.jwtSecret && sessionSecret === config.sessionSecret) return config as ConfigWithSecrets;
  return Object.freeze({ ...config, jwtSecret, sessionSecret });
}

function developmentSecret(dataDir: string, fileName: string, variable: string, warn: (message: string) => void): string {
  const file = join(dataDir, fileName);
  let secret: string;
  try {
    secret = readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    mkdirSync(dataDir, { recursive: true });
    secret = randomBytes(48).toString('base64url');
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  }
  warn(`${variable} is not set: using the development secret in ${file}. Set ${variable} in production.`);
  return secret;
}
