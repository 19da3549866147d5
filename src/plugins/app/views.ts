import { Eta } from 'eta';
import { VIEWS_DIR } from '../../paths.ts';

export { VIEWS_DIR };

// Made by the first page that shows a date, not at start-up: a formatter reads ICU's locale
// data out of the node binary, some 8 MB of resident memory (bench/startup.ts).
let dateFormat: Intl.DateTimeFormat | undefined;
let dateTimeFormat: Intl.DateTimeFormat | undefined;

/** Functions the templates use, as `it.h`. */
export const templateHelpers = {
  date: (iso: string) => {
    dateFormat ??= new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
    return dateFormat.format(new Date(iso));
  },
  dateTime: (iso: string) => {
    dateTimeFormat ??= new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });
    return `${dateTimeFormat.format(new Date(iso))} UTC`;
  },
  avatar: (image: string | null | undefined) => (image ? image : '/assets/avatar.svg'),
};

const ERROR_PAGES: Record<number, { heading: string; message: string }> = {
  400: { heading: 'That request did not make sense', message: 'Something in it was malformed. Go back and try again.' },
  403: { heading: 'Not allowed', message: 'You do not have permission to do that.' },
  404: { heading: 'Page not found', message: 'There is nothing here: the link may be old, or the page was deleted.' },
  413: { heading: 'Too large', message: 'What you sent is larger than we accept.' },
  414: { heading: 'Address too long', message: 'The address of that page is longer than we accept.' },
  422: { heading: 'That request did not make sense', message: 'Something in it was not valid. Go back and try again.' },
  429: { heading: 'Too many attempts', message: 'Wait a little and try again.' },
  431: { heading: 'Request too large', message: 'The address or the cookies of that request are larger than we accept.' },
  500: { heading: 'Something went wrong', message: 'The error has been logged. Please try again in a moment.' },
  503: { heading: 'Temporarily unavailable', message: 'We are updating the service. Please try again in a moment.' },
};

export type ErrorPage = {
  readonly title: string;
  readonly status: number;
  readonly heading: string;
  readonly message: string;
  readonly requestId: string | undefined;
};

/** What the error page says for a status; a 5xx shows the request id to quote. */
export function errorPage(status: number, requestId: string, message?: string): ErrorPage {
  const page = ERROR_PAGES[status] ?? ERROR_PAGES[status >= 500 ? 500 : 400]!;
  return { title: page.heading, status, heading: page.heading, message: message ?? page.message, requestId: status >= 500 ? requestId : undefined };
}

const standaloneViews = new Eta({ views: VIEWS_DIR, cache: true, autoEscape: true });

/**
 * The error page as a whole HTML document, for failures met before a request reaches the web
 * pages (a malformed URL, oversized headers): as seen by someone signed out, with no form.
 */
export function standaloneErrorPageHtml(status: number, requestId: string): string {
  return standaloneViews.render('pages/error', { ...errorPage(status, requestId), viewer: null, flash: null, h: templateHelpers });
}

/** Whether a client asked for a web page (a browser) rather than JSON. */
export function wantsHtml(accept: string | undefined, url: string): boolean {
  return !url.startsWith('/api/') && (accept ?? '').includes('text/html');
}
