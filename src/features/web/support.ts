import type { FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { forbidden } from '../../errors.ts';
import type { UserRecord } from '../users/repository.ts';

export const PAGE_SIZE = 10;

/** `?page=` on listing pages. */
export const PageQuery = Type.Object({ page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })) });

/** Hidden fields every form posts: the CSRF token, and where to go back to afterwards. */
export const FormBase = {
  _csrf: Type.Optional(Type.String({ maxLength: 200 })),
  back: Type.Optional(Type.String({ maxLength: 2000 })),
};

/** A text field from a form: a string of bounded length (the domain rules check the rest). */
export function FormText(maxLength = 200_000) {
  return Type.Optional(Type.String({ maxLength }));
}

/** Pages that need a signed-in user send everyone else to the sign-in page, and back. */
export async function requireViewer(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  if (request.viewer !== null) return undefined;
  if (request.method === 'GET') return reply.redirect(`/login?next=${encodeURIComponent(request.url)}`, 303);
  reply.flash('info', 'Please sign in first: your session may have ended.');
  return reply.redirect('/login', 303);
}

/** The signed-in user, for handlers of pages that require one. */
export function viewerOf(request: FastifyRequest): UserRecord {
  if (request.viewer === null) throw forbidden('page', 'needs you to sign in');
  return request.viewer;
}

export interface PaginationLink {
  readonly number?: number;
  readonly href?: string;
  readonly gap?: true;
}

export interface Pagination {
  readonly current: number;
  readonly pages: number;
  readonly links: readonly PaginationLink[];
}

/** Page links around the current page, with the first and last always shown. */
export function paginate(current: number, total: number, pageSize: number, hrefFor: (page: number) => string): Pagination {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const shown = new Set([1, pages, current - 2, current - 1, current, current + 1, current + 2].filter((page) => page >= 1 && page <= pages));
  const links: PaginationLink[] = [];
  let previous = 0;
  for (const page of [...shown].sort((a, b) => a - b)) {
    if (page - previous > 1) links.push({ gap: true });
    links.push({ number: page, href: hrefFor(page) });
    previous = page;
  }
  return { current, pages, links };
}

/** Builds a URL for a listing page, keeping its other query parameters. */
export function pageHref(path: string, params: Record<string, string | undefined>, page: number): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') query.set(key, value);
  if (page > 1) query.set('page', String(page));
  const text = query.toString();
  return text === '' ? path : `${path}?${text}`;
}
