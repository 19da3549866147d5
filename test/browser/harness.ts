import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
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
  readonly name: string;
  readonly #dir: string;
  readonly #prefix: string;
  #count = 0;

  constructor(name: string) {
    this.name = name;
    this.#dir = join(ROOT, 'test-results', 'screenshots', dialectUnderTest);
    this.#prefix = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
    mkdirSync(this.#dir, { recursive: true });
    // This test's screenshots from an earlier run would otherwise mix with this run's.
    for (const file of readdirSync(this.#dir)) if (file.startsWith(`${this.#prefix}-`)) rmSync(join(this.#dir, file));
  }

  async take(page: Page, step: string): Promise<void> {
    this.#count += 1;
    const name = `${this.#prefix}-${String(this.#count).padStart(2, '0')}-${step.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.png`;
    await page.screenshot({ path: join(this.#dir, name), fullPage: true });
  }
}

export const DESKTOP = { width: 1280, height: 800 } as const;
export const PHONE = { width: 390, height: 844 } as const;
/** The narrowest phone still in use (iPhone SE, small Androids): the layout must hold here too. */
const NARROW_PHONE = { width: 320, height: 640 } as const;

/** axe-core's own bundle, evaluated in the page: pages run with JavaScript off, so a script tag would not run. */
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/**
 * The serious and critical axe-core violations on the page as it is now, one line per rule.
 * axe-core needs JavaScript (its timers never fire in a page with scripts off), so it runs in a
 * twin page with JavaScript on that is served the same HTML at the same URL and size; styles and
 * images still come from the server.
 */
async function axeViolations(page: Page): Promise<string[]> {
  const browser = page.context().browser();
  if (!browser) throw new Error('the page has no browser to open the audit twin in');
  const html = await page.content();
  const twinContext = await browser.newContext({ javaScriptEnabled: true, viewport: page.viewportSize() });
  try {
    const twin = await twinContext.newPage();
    await twin.route(page.url(), (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }));
    await twin.goto(page.url(), { waitUntil: 'load' });
    await twin.evaluate(AXE_SOURCE);
    const violations = await twin.evaluate<AxeViolation[]>(
      'axe.run(document, { resultTypes: ["violations"] }).then((results) => results.violations)',
    );
    return violations
      .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
      .map((violation) => `${violation.id} (${violation.impact}) ×${violation.nodes.length}: ${violation.help} at ${violation.nodes.slice(0, 3).map((node) => JSON.stringify(node.target)).join(', ')}`);
  } finally {
    await twinContext.close();
  }
}

/** How far the page is wider than the viewport, in CSS pixels (0 when nothing scrolls sideways). */
async function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
}

/**
 * Checks the page as it is now, without reloading it (so a form's errors stay on screen): axe-core
 * at desktop and phone sizes, and no sideways scrolling at 390 and 320 pixels. Returns the problems
 * found, each naming the page state, the size and the rule; leaves the page at the desktop size.
 */
export async function auditPage(page: Page, state: string): Promise<string[]> {
  const problems: string[] = [];
  const where = `${state} (${new URL(page.url()).pathname}${new URL(page.url()).search})`;
  for (const size of [DESKTOP, PHONE]) {
    await page.setViewportSize(size);
    for (const violation of await axeViolations(page)) problems.push(`${where} at ${size.width}px: ${violation}`);
  }
  for (const size of [PHONE, NARROW_PHONE]) {
    await page.setViewportSize(size);
    const overflow = await horizontalOverflow(page);
    if (overflow > 0) problems.push(`${where} at ${size.width}px: the page is ${overflow}px wider than the viewport`);
  }
  await page.setViewportSize(DESKTOP);
  return problems;
}
