import type MarkdownIt from 'markdown-it';
import type sanitizeHtml from 'sanitize-html';
import { onFirstUse } from '../../lib/on-first-use.ts';

/**
 * markdown-it and sanitize-html (with its HTML and CSS parsers) serve the article pages only:
 * loaded by the first one rendered, not at start-up.
 */
const renderer = onFirstUse(async () => {
  const [{ default: MarkdownItClass }, { default: sanitize }] = await Promise.all([import('markdown-it'), import('sanitize-html')]);
  const options: sanitizeHtml.IOptions = {
    ...SANITIZE,
    transformTags: { a: sanitize.simpleTransform('a', { rel: 'nofollow noopener noreferrer' }) },
  };
  return { markdown: markdownParser(MarkdownItClass), sanitize: (html: string) => sanitize(html, options) };
});

function markdownParser(MarkdownItClass: typeof MarkdownIt): InstanceType<typeof MarkdownIt> {
  // Raw HTML in Markdown is not rendered at all (html: false): it comes out escaped.
  const markdown = new MarkdownItClass({ html: false, linkify: true, typographer: true });
  // The article's title is the page's only h1: a body's headings start one level below it.
  markdown.core.ruler.push('shift_headings_below_title', (state) => {
    for (const token of state.tokens) {
      if (token.type === 'heading_open' || token.type === 'heading_close') token.tag = `h${Math.min(6, Number(token.tag.slice(1)) + 1)}`;
    }
  });
  return markdown;
}

/** The allow-list; links also get rel=nofollow (transformTags, added once the sanitiser is loaded). */
const SANITIZE: Omit<sanitizeHtml.IOptions, 'transformTags'> = {
  allowedTags: [
    'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'p', 'br', 'hr', 'blockquote', 'pre', 'code', 'em', 'strong', 's', 'del',
    'ul', 'ol', 'li', 'a', 'img', 'table', 'thead', 'tbody', 'tr', 'th', 'td',
  ],
  // No style attributes: the Content-Security-Policy forbids inline styles anyway.
  allowedAttributes: { a: ['href', 'title', 'rel'], img: ['src', 'alt', 'title'], ol: ['start'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['http', 'https'] },
  allowProtocolRelative: false,
};

/**
 * An article body as safe HTML: Markdown without raw HTML, then an allow-list sanitiser as a
 * second line of defence (no scripts, no event handlers, no javascript: links).
 */
export async function renderMarkdown(source: string): Promise<string> {
  const { markdown, sanitize } = await renderer();
  return sanitize(markdown.render(source));
}
