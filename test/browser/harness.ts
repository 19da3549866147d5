import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { createTestStorage, dialectUnderTest } from '../helpers/app.ts';
import { freePort, ROOT, startNode, waitFor } from '../helpers/process.ts';

export const ADMIN = { email: 'admin@example.com', username: 'admin', password: 'Admin-Password-1' };

export interface Stack {
  readonly baseUrl: string;
  stop(): Promise<void>;
}

/** The real server process on a fresh database, with a first admin from ADMIN_EMAIL. */
export async function startStack(): Promise<Stack> {
  const storage = await createTestStorage();
  const port = await freePort();
  const server = startNode('src/server.ts', [], {
    NODE_ENV: 'test',
    PORT: String(port),
    DATA_DIR: storage.dataDir,
    JWT_SECRET: randomBytes(32).toString('hex'),
    SESSION_SECRET: randomBytes(32).toString('hex'),
    SHUTDOWN_DELAY_SECONDS: '0',
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_USERNAME: ADMIN.username,
    ADMIN_PASSWORD: ADMIN.password,
    ...(storage.databaseUrl ? { DATABASE_URL: storage.databaseUrl, MIGRATE_ON_START: 'true' } : {}),
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitFor(`${baseUrl}/readyz`, 200, 20_000, server);
  return {
    baseUrl,
    stop: async () => {
      server.child.kill('SIGTERM');
      await server.exited;
      await storage.remove();
    },
  };
}

/**
 * Debian's chromium, headless. The flags keep it from reaching for Google's services, which
 * this machine's closed network refuses.
 */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/** Saves a screenshot of each page a test visits, in a git-ignored folder, numbered in order. */
export class Screenshots {
  readonly #dir: string;
  readonly #prefix: string;
  #count = 0;

  constructor(testName: string) {
    this.#dir = join(ROOT, 'test-results', 'screenshots', dialectUnderTest);
    this.#prefix = testName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
    mkdirSync(this.#dir, { recursive: true });
  }

  async take(page: Page, step: string): Promise<void> {
    this.#count += 1;
    const name = `${this.#prefix}-${String(this.#count).padStart(2, '0')}-${step.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.png`;
    await page.screenshot({ path: join(this.#dir, name), fullPage: true });
  }
}
