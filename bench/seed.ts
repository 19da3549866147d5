/**
 * Seeds a fresh server through its own API: 50 users, 500 articles (3 of 20 tags each, 1-2 KB
 * bodies), ~500 follows, ~1000 favorites and ~1000 comments. Deterministic (seeded PRNG).
 */
export interface SeededData {
  readonly users: { email: string; password: string; token: string; username: string }[];
  readonly slugs: string[];
}

export const SEED = { users: 50, articles: 500, tags: 20, tagsPerArticle: 3, followsPerUser: 10, favorites: 1000, comments: 1000 };
export const BENCH_PASSWORD = 'Bench-Pass-1';

const WORDS = (
  'ledger balance audit quarter forecast invoice payment settlement reconcile treasury ' +
  'compliance report journal account margin revenue expense budget capital liquidity'
).split(' ');

/** mulberry32: small, fast, good enough for picking benchmark data reproducibly. */
export function randomGenerator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function inBatches<T>(items: T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function call(base: string, method: string, path: string, body?: unknown, token?: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Token ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`seeding ${method} ${path} failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
}

function paragraph(random: () => number, minBytes: number, maxBytes: number): string {
  const target = minBytes + Math.floor(random() * (maxBytes - minBytes));
  const words: string[] = [];
  let length = 0;
  while (length < target) {
    const word = WORDS[Math.floor(random() * WORDS.length)]!;
    words.push(word);
    length += word.length + 1;
  }
  return words.join(' ');
}

export async function seed(base: string): Promise<SeededData> {
  const random = randomGenerator(42);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const tagNames = Array.from({ length: SEED.tags }, (_, index) => `tag${String(index).padStart(2, '0')}`);

  const users: SeededData['users'] = [];
  await inBatches(Array.from({ length: SEED.users }, (_, index) => index), 8, async (index) => {
    const username = `bench_user_${index}`;
    const email = `${username}@example.com`;
    const response = await call(base, 'POST', '/api/users', { user: { username, email, password: BENCH_PASSWORD } });
    users[index] = { username, email, password: BENCH_PASSWORD, token: (response.user as { token: string }).token };
  });

  const follows: [number, number][] = [];
  for (let follower = 0; follower < SEED.users; follower += 1) {
    const followed = new Set<number>();
    while (followed.size < SEED.followsPerUser) {
      const candidate = Math.floor(random() * SEED.users);
      if (candidate !== follower) followed.add(candidate);
    }
    for (const target of followed) follows.push([follower, target]);
  }
  await inBatches(follows, 16, async ([follower, target]) => {
    await call(base, 'POST', `/api/profiles/${users[target]!.username}/follow`, undefined, users[follower]!.token);
  });

  const articles = Array.from({ length: SEED.articles }, (_, index) => {
    const tags = new Set<string>();
    while (tags.size < SEED.tagsPerArticle) tags.add(pick(tagNames));
    return {
      author: index % SEED.users,
      article: {
        title: `Benchmark article ${index}: ${pick(WORDS)} ${pick(WORDS)}`,
        description: paragraph(random, 60, 120),
        body: paragraph(random, 1024, 2048),
        tagList: [...tags],
      },
    };
  });
  const slugs: string[] = [];
  await inBatches(articles, 16, async ({ author, article }, index) => {
    const response = await call(base, 'POST', '/api/articles', { article }, users[author]!.token);
    slugs[index] = (response.article as { slug: string }).slug;
  });

  const favorites = new Set<string>();
  while (favorites.size < SEED.favorites) favorites.add(`${Math.floor(random() * SEED.users)}:${Math.floor(random() * SEED.articles)}`);
  await inBatches([...favorites], 16, async (pair) => {
    const [user, article] = pair.split(':').map(Number) as [number, number];
    await call(base, 'POST', `/api/articles/${slugs[article]}/favorite`, undefined, users[user]!.token);
  });

  const comments = Array.from({ length: SEED.comments }, () => ({
    user: Math.floor(random() * SEED.users),
    article: Math.floor(random() * SEED.articles),
    body: paragraph(random, 40, 200),
  }));
  await inBatches(comments, 16, async ({ user, article, body }) => {
    await call(base, 'POST', `/api/articles/${slugs[article]}/comments`, { comment: { body } }, users[user]!.token);
  });

  return { users, slugs };
}
