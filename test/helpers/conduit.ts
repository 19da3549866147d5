import { randomBytes } from 'node:crypto';
import type { FastifyInstance, InjectOptions } from 'fastify';

export const STRONG_PASSWORD = 'Correct-Horse-9';

export interface Response<T = Record<string, unknown>> {
  readonly status: number;
  readonly headers: Record<string, string | string[] | number | undefined>;
  readonly body: T;
  readonly text: string;
}

export interface RegisteredUser {
  readonly token: string;
  readonly username: string;
  readonly email: string;
  readonly password: string;
}

export interface ArticleJson {
  slug: string;
  title: string;
  description: string;
  body?: string;
  tagList: string[];
  createdAt: string;
  updatedAt: string;
  favorited: boolean;
  favoritesCount: number;
  author: { username: string; bio: string | null; image: string | null; following: boolean };
}

export function uniqueName(prefix = 'user'): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}

/** A thin client for the Conduit API over app.inject: no port, no mocks. */
export class Conduit {
  readonly #app: () => FastifyInstance;

  /** The app, or how to find it once built (a file's shared app exists only in its tests). */
  constructor(app: FastifyInstance | (() => FastifyInstance)) {
    this.#app = typeof app === 'function' ? app : () => app;
  }

  async request<T = Record<string, unknown>>(
    method: InjectOptions['method'],
    url: string,
    options: { token?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string } = {},
  ): Promise<Response<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers.authorization = `Token ${options.token}`;
    let payload: string | undefined;
    if (options.rawBody !== undefined) payload = options.rawBody;
    else if (options.body !== undefined) payload = JSON.stringify(options.body);
    if (payload !== undefined) headers['content-type'] ??= 'application/json';
    const response = await this.#app().inject({ method, url, headers, ...(payload !== undefined ? { payload } : {}) });
    const text = response.body;
    let body: unknown = undefined;
    if (text !== '' && String(response.headers['content-type'] ?? '').includes('json')) body = JSON.parse(text);
    return { status: response.statusCode, headers: response.headers, body: body as T, text };
  }

  async register(overrides: Partial<{ username: string; email: string; password: string }> = {}): Promise<RegisteredUser> {
    const username = overrides.username ?? uniqueName();
    const email = overrides.email ?? `${username}@example.com`;
    const password = overrides.password ?? STRONG_PASSWORD;
    const response = await this.request<{ user: { token: string } }>('POST', '/api/users', {
      body: { user: { username, email, password } },
    });
    if (response.status !== 201) throw new Error(`registration failed: ${response.status} ${response.text}`);
    return { token: response.body.user.token, username, email: email.toLowerCase(), password };
  }

  async createArticle(
    token: string,
    article: Partial<{ title: string; description: string; body: string; tagList: string[] }> = {},
  ): Promise<ArticleJson> {
    const response = await this.request<{ article: ArticleJson }>('POST', '/api/articles', {
      token,
      body: {
        article: {
          title: article.title ?? `Title ${uniqueName('t')}`,
          description: article.description ?? 'A description',
          body: article.body ?? 'Some *markdown* body.',
          ...(article.tagList ? { tagList: article.tagList } : {}),
        },
      },
    });
    if (response.status !== 201) throw new Error(`article creation failed: ${response.status} ${response.text}`);
    return response.body.article;
  }
}
