import { randomBytes } from 'node:crypto';
import { WebClient } from '../helpers/browser.ts';
import { STRONG_PASSWORD, uniqueName } from '../helpers/conduit.ts';

/** How long one request may take before it counts as failed. */
const REQUEST_TIMEOUT_MS = 15_000;

/** A signed-in user of the load: an API token and a browser session. */
export interface LoadUser {
  readonly username: string;
  readonly token: string;
  readonly browser: WebClient;
}

export interface LoadReport {
  readonly requests: number;
  /** Requests per step of the scenario, e.g. "api: create article". */
  readonly byStep: Readonly<Record<string, number>>;
  /** Network errors, timeouts and statuses other than the step expects, described. */
  readonly failures: readonly string[];
  readonly maxLatencyMs: number;
  readonly p99LatencyMs: number;
  /** The longest of the requests in flight at some point between two moments (Date.now() values), e.g. during the roll. */
  maxLatencyMsBetween(from: number, to: number): number;
  /** Slugs of the articles whose creation was acknowledged (API 201 or web 303). */
  readonly acknowledgedArticles: readonly string[];
  /** Ids of the comments whose creation was acknowledged (API 200). */
  readonly acknowledgedComments: readonly number[];
}

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly location?: string | undefined;
}

/** Registers a user over the API and signs a browser in through the web form, at `url`. */
export async function signUpLoadUser(url: string): Promise<LoadUser> {
  const username = uniqueName('load');
  const email = `${username}@example.com`;
  const response = await api(url, 'POST', '/api/users', { user: { username, email, password: STRONG_PASSWORD } });
  if (response.status !== 201) throw new Error(`registration failed: ${response.status} ${response.body}`);
  const token = (JSON.parse(response.body) as { user: { token: string } }).user.token;
  const browser = new WebClient(url);
  const signedIn = await browser.signIn(email, STRONG_PASSWORD);
  if (signedIn.status !== 303) throw new Error(`web sign-in failed: ${signedIn.status}`);
  return { username, token, browser };
}

export interface LoadRun {
  /** Requests answered (or failed) so far. */
  requests(): number;
  /** Lets every worker finish the request in hand, then reports. */
  stop(): Promise<LoadReport>;
}

/**
 * A bounded load of reads and writes, API and web, one worker per user, until stopped: each
 * worker walks the same scenario again and again and checks every answer against the status
 * that step expects (including the scenario's own 404 and 422).
 */
export function startLoad(url: string, users: readonly LoadUser[]): LoadRun {
  let stopped = false;
  /** Each finished request: when it started (Date.now()) and how long it took. */
  const samples: { startedAt: number; ms: number }[] = [];
  const byStep: Record<string, number> = {};
  const failures: string[] = [];
  const acknowledgedArticles: string[] = [];
  const acknowledgedComments: number[] = [];

  /** Runs one request, timed; returns its answer when it has the expected status. */
  async function step(name: string, expected: number, send: () => Promise<Answer>): Promise<Answer | undefined> {
    byStep[name] = (byStep[name] ?? 0) + 1;
    const [startedAt, started] = [Date.now(), performance.now()];
    try {
      const answer = await send();
      samples.push({ startedAt, ms: performance.now() - started });
      if (answer.status === expected) return answer;
      failures.push(`${name}: ${answer.status} instead of ${expected}: ${answer.body.slice(0, 200)}`);
    } catch (error) {
      samples.push({ startedAt, ms: performance.now() - started });
      const cause = (error as Error).cause;
      failures.push(`${name}: ${(error as Error).message}${cause instanceof Error ? ` (${cause.message})` : ''}`);
    }
    return undefined;
  }

  async function worker(user: LoadUser): Promise<void> {
    const { token, browser } = user;
    while (!stopped) {
      await step('api: list articles', 200, () => api(url, 'GET', '/api/articles?limit=10', undefined, token));
      const created = await step('api: create article', 201, () => api(url, 'POST', '/api/articles', { article: articleDraft() }, token));
      const slug = created && (JSON.parse(created.body) as { article: { slug: string } }).article.slug;
      if (slug !== undefined) {
        acknowledgedArticles.push(slug);
        await step('api: read article', 200, () => api(url, 'GET', `/api/articles/${slug}`, undefined, token));
        const comment = await step('api: add comment', 200, () => api(url, 'POST', `/api/articles/${slug}/comments`, { comment: { body: 'load' } }, token));
        if (comment) acknowledgedComments.push((JSON.parse(comment.body) as { comment: { id: number } }).comment.id);
      }
      await step('api: missing article (404 expected)', 404, () => api(url, 'GET', `/api/articles/missing-${randomBytes(4).toString('hex')}`));
      await step('api: invalid article (422 expected)', 422, () => api(url, 'POST', '/api/articles', { article: { ...articleDraft(), title: '' } }, token));
      await step('web: home page', 200, () => browser.get('/').then(page));
      await step('web: editor form', 200, () => browser.get('/editor').then(page));
      const published = await step('web: publish article', 303, () => browser.post('/editor', webDraft()).then(page));
      const location = published?.location;
      if (location !== undefined) {
        acknowledgedArticles.push(decodeURIComponent(location.replace(/^\/article\//, '')));
        await step('web: article page', 200, () => browser.get(location).then(page));
      }
    }
  }

  const workers = Promise.all(users.map(worker));
  return {
    requests: () => samples.length,
    stop: async () => {
      stopped = true;
      await workers;
      const sorted = samples.map((sample) => sample.ms).sort((a, b) => a - b);
      return {
        requests: samples.length,
        byStep,
        failures,
        maxLatencyMs: Math.round(sorted.at(-1) ?? 0),
        p99LatencyMs: Math.round(sorted[Math.floor(sorted.length * 0.99)] ?? 0),
        maxLatencyMsBetween: (from, to) => Math.round(Math.max(0, ...samples.filter((sample) => sample.startedAt <= to && sample.startedAt + sample.ms >= from).map((sample) => sample.ms))),
        acknowledgedArticles,
        acknowledgedComments,
      };
    },
  };
}

function articleDraft() {
  return { title: uniqueName('Load '), description: 'written under load', body: 'body', tagList: ['load'] };
}

function webDraft() {
  return { title: uniqueName('Web load '), description: 'published under load', body: 'body', tags: 'load' };
}

function page(result: { status: number; html: string; location: string | undefined }): Answer {
  return { status: result.status, body: result.html, location: result.location };
}

async function api(url: string, method: string, path: string, body?: unknown, token?: string): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Token ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(new URL(path, url), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return { status: response.status, body: await response.text() };
}
