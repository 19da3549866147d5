/**
 * What the load benchmark measures: one request shape per scenario, built from the seeded data
 * (bench/seed.ts), with the throughput the 2-core reference machine should reach on SQLite.
 * The performance gate (bench/gate.ts) runs a fixed subset of them.
 */
import type { Request as AutocannonRequest } from 'autocannon';
import { BENCH_PASSWORD, type SeededData } from './seed.ts';

export interface Scenario {
  readonly name: string;
  readonly kind: 'read' | 'write' | 'login';
  /** Requests per second to reach on the 2-core reference machine (SQLite); login is relative. */
  readonly target?: number;
  request(data: SeededData): AutocannonRequest;
}

/** Cycles through a list on every request, so load spreads over rows like real traffic. */
function rotate<T>(items: readonly T[]): () => T {
  let next = 0;
  return () => items[next++ % items.length]!;
}

export const SCENARIOS: readonly Scenario[] = [
  { name: 'list articles (anonymous)', kind: 'read', target: 2000, request: () => ({ method: 'GET', path: '/api/articles' }) },
  {
    name: 'list articles (signed in)',
    kind: 'read',
    target: 2000,
    request: (data) => {
      const token = rotate(data.users.map((user) => user.token));
      return { method: 'GET', path: '/api/articles', setupRequest: (request) => ({ ...request, headers: { ...request.headers, authorization: `Token ${token()}` } }) };
    },
  },
  {
    name: 'feed',
    kind: 'read',
    target: 2000,
    request: (data) => {
      const token = rotate(data.users.map((user) => user.token));
      return { method: 'GET', path: '/api/articles/feed', setupRequest: (request) => ({ ...request, headers: { ...request.headers, authorization: `Token ${token()}` } }) };
    },
  },
  {
    name: 'get article',
    kind: 'read',
    target: 5000,
    request: (data) => {
      const slug = rotate(data.slugs);
      return { method: 'GET', setupRequest: (request) => ({ ...request, path: `/api/articles/${slug()}` }) };
    },
  },
  { name: 'tags', kind: 'read', target: 8000, request: () => ({ method: 'GET', path: '/api/tags' }) },
  {
    name: 'comments',
    kind: 'read',
    target: 4000,
    request: (data) => {
      const slug = rotate(data.slugs);
      return { method: 'GET', setupRequest: (request) => ({ ...request, path: `/api/articles/${slug()}/comments` }) };
    },
  },
  {
    name: 'login',
    kind: 'login',
    request: (data) => {
      const user = rotate(data.users);
      return {
        method: 'POST',
        path: '/api/users/login',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => {
          const { email } = user();
          return { ...request, body: JSON.stringify({ user: { email, password: BENCH_PASSWORD } }) };
        },
      };
    },
  },
  {
    name: 'create article',
    kind: 'write',
    target: 1000,
    request: (data) => {
      const token = rotate(data.users.map((user) => user.token));
      let counter = 0;
      const body = 'Benchmark body. '.repeat(80);
      return {
        method: 'POST',
        path: '/api/articles',
        setupRequest: (request) => ({
          ...request,
          headers: { ...request.headers, 'content-type': 'application/json', authorization: `Token ${token()}` },
          body: JSON.stringify({ article: { title: `Load ${Date.now()} ${counter++}`, description: 'Written under load', body, tagList: ['tag01', 'load'] } }),
        }),
      };
    },
  },
  {
    name: 'update user',
    kind: 'write',
    target: 2000,
    request: (data) => {
      const token = rotate(data.users.map((user) => user.token));
      let counter = 0;
      return {
        method: 'PUT',
        path: '/api/user',
        setupRequest: (request) => ({
          ...request,
          headers: { ...request.headers, 'content-type': 'application/json', authorization: `Token ${token()}` },
          body: JSON.stringify({ user: { bio: `Updated bio number ${counter++}` } }),
        }),
      };
    },
  },
];

/**
 * The performance gate's subset: the reads a visitor and a signed-in reader make most, and one
 * write. Create article runs last, so the reads before it see the seeded data only.
 */
export const GATE_SCENARIOS: readonly string[] = ['list articles (anonymous)', 'list articles (signed in)', 'feed', 'get article', 'comments', 'create article'];

export function scenarioNamed(name: string): Scenario {
  const scenario = SCENARIOS.find((candidate) => candidate.name === name);
  if (scenario === undefined) throw new Error(`no bench scenario named ${name}`);
  return scenario;
}
