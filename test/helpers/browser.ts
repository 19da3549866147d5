import type { FastifyInstance, InjectOptions } from 'fastify';
import { type HTMLElement, parse } from 'node-html-parser';
import { STRONG_PASSWORD, uniqueName } from './conduit.ts';

export interface Page {
  readonly status: number;
  readonly headers: Record<string, string | string[] | number | undefined>;
  readonly location: string | undefined;
  readonly html: string;
  readonly document: HTMLElement;
}

export interface UploadFile {
  readonly field: string;
  readonly filename: string;
  readonly contentType: string;
  readonly data: Buffer;
}

interface RawResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[] | number | undefined>;
  readonly body: string;
  readonly cookies: readonly { name: string; value: string; maxAge?: number | undefined; expires?: Date | string | undefined }[];
}

type Transport = (options: InjectOptions & { headers: Record<string, string> }) => Promise<RawResponse>;

/** Requests through app.inject, or over real HTTP to a running server given its base URL. */
function transportFor(target: FastifyInstance | string): Transport {
  if (typeof target !== 'string') return async (options) => target.inject(options);
  return async (options) => {
    const response = await fetch(new URL(options.url as string, target), {
      method: options.method ?? 'GET',
      headers: options.headers,
      body: options.payload as string | Buffer | undefined,
      redirect: 'manual',
    });
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => (headers[name] = value));
    const cookies = response.headers.getSetCookie().map((line) => {
      const [pair = '', ...attributes] = line.split(';');
      const separator = pair.indexOf('=');
      const maxAge = attributes.map((attribute) => /^\s*max-age=(-?\d+)/i.exec(attribute)?.[1]).find((value) => value !== undefined);
      return { name: pair.slice(0, separator).trim(), value: pair.slice(separator + 1).trim(), maxAge: maxAge === undefined ? undefined : Number(maxAge) };
    });
    return { statusCode: response.status, headers, body: await response.text(), cookies };
  };
}

/**
 * A cookie-keeping client for the web pages, over app.inject or over HTTP to a real server:
 * it fills CSRF tokens from the last page like a browser submitting a form would, and parses
 * the HTML it gets back.
 */
export class WebClient {
  #send: Transport;
  readonly #cookies = new Map<string, string>();
  csrfToken: string | undefined;

  readonly #headers: Readonly<Record<string, string>>;

  /** `headers` go with every request: e.g. the X-Forwarded-For a proxy would add for this browser. */
  constructor(target: FastifyInstance | string, headers: Readonly<Record<string, string>> = {}) {
    this.#send = transportFor(target);
    this.#headers = headers;
  }

  /** From now on talks to another server with the same cookies: the next request landing on another replica. */
  moveTo(target: FastifyInstance | string): this {
    this.#send = transportFor(target);
    return this;
  }

  cookie(name: string): string | undefined {
    return this.#cookies.get(name);
  }

  forgetCookie(name: string): void {
    this.#cookies.delete(name);
  }

  async get(url: string): Promise<Page> {
    return this.#request({ method: 'GET', url, headers: { accept: 'text/html' } });
  }

  /** Submits a form, with the CSRF token from the last page unless `_csrf` is given. */
  async post(url: string, fields: Record<string, string> = {}): Promise<Page> {
    const body = new URLSearchParams({ ...(this.csrfToken ? { _csrf: this.csrfToken } : {}), ...fields });
    return this.#request({
      method: 'POST',
      url,
      headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' },
      payload: body.toString(),
    });
  }

  async postMultipart(url: string, fields: Record<string, string>, file?: UploadFile): Promise<Page> {
    const boundary = `----shipshape${uniqueName('b')}`;
    const parts: Buffer[] = [];
    for (const [name, value] of Object.entries({ ...(this.csrfToken ? { _csrf: this.csrfToken } : {}), ...fields })) {
      parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
    }
    if (file) {
      parts.push(
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${file.field}"; filename="${file.filename}"\r\nContent-Type: ${file.contentType}\r\n\r\n`,
        ),
        file.data,
        Buffer.from('\r\n'),
      );
    }
    parts.push(Buffer.from(`--${boundary}--\r\n`));
    return this.#request({
      method: 'POST',
      url,
      headers: { accept: 'text/html', 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: Buffer.concat(parts),
    });
  }

  /** Posts a body exactly as given, with the session's cookies: for malformed or unusual forms. */
  async postRaw(url: string, contentType: string, payload: string | Buffer): Promise<Page> {
    return this.#request({ method: 'POST', url, headers: { accept: 'text/html', 'content-type': contentType }, payload });
  }

  /** Signs up through the form; returns the credentials used. */
  async signUp(overrides: Partial<{ username: string; email: string; password: string }> = {}) {
    const username = overrides.username ?? uniqueName('web');
    const credentials = { username, email: overrides.email ?? `${username}@example.com`, password: overrides.password ?? STRONG_PASSWORD };
    await this.get('/register');
    const page = await this.post('/register', credentials);
    if (page.status !== 303) throw new Error(`sign-up failed: ${page.status} ${text(page.document.querySelector('.error-summary'))}`);
    return credentials;
  }

  /** Signs in through the form, as a browser would: following the redirect when already signed in. */
  async signIn(email: string, password: string): Promise<Page> {
    const login = await this.get('/login');
    if (login.location !== undefined) await this.get(login.location);
    return this.post('/login', { email, password });
  }

  /** Signs out with the form on the settings page, where a signed-in user finds it. */
  async signOut(): Promise<Page> {
    await this.get('/settings');
    return this.post('/logout');
  }

  /** Sets a cookie as if the server (or another site on a sibling domain) had set it. */
  setCookie(name: string, value: string): void {
    this.#cookies.set(name, value);
  }

  /** The Cookie header this browser would send, or undefined when it holds none. */
  cookieHeader(): string | undefined {
    return this.#cookies.size === 0 ? undefined : [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  async #request(options: InjectOptions & { headers: Record<string, string> }): Promise<Page> {
    const cookie = this.cookieHeader();
    Object.assign(options.headers, this.#headers);
    if (cookie !== undefined) options.headers.cookie = cookie;
    const response = await this.#send(options);
    for (const cookie of response.cookies) {
      const expired = cookie.maxAge === 0 || (cookie.expires !== undefined && new Date(cookie.expires).getTime() <= Date.now());
      if (expired || cookie.value === '') this.#cookies.delete(cookie.name);
      else this.#cookies.set(cookie.name, cookie.value);
    }
    const document = parse(response.body);
    const token = document.querySelector('input[name="_csrf"]')?.getAttribute('value');
    if (token) this.csrfToken = token;
    const location = response.headers.location;
    return {
      status: response.statusCode,
      headers: response.headers,
      location: typeof location === 'string' ? location : undefined,
      html: response.body,
      document,
    };
  }
}

export function text(element: HTMLElement | null | undefined): string {
  return element?.textContent.replace(/\s+/g, ' ').trim() ?? '';
}
