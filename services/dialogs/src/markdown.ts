/**
 * Markdown → HTML, once at write time: marked (GFM, line breaks kept), then
 * sanitize-html with an allow-list. Nothing executable survives: no script,
 * style, iframe, object, embed or form, no event-handler attributes, only
 * http(s)/mailto links (no javascript:, data:, vbscript:); links open in a new
 * tab with rel="nofollow noopener noreferrer".
 *
 * Most chat messages are plain sentences. For them marked + sanitize-html is the most expensive step of
 * a create, and the answer is known: paragraphs at blank lines, `<br />` at line breaks, text escaped.
 * `plainText` recognises such sources conservatively (only characters that can start no markdown
 * construct, no line that could open a block, nothing GFM would autolink) and builds that HTML directly;
 * a property test checks that it is identical to the full renderer's output.
 */
import { Marked } from 'marked';
import sanitizeHtml from 'sanitize-html';

const marked = new Marked({ gfm: true, breaks: true, async: false });

const LINK_REL = 'nofollow noopener noreferrer';

const SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: [
    'p',
    'br',
    'strong',
    'b',
    'em',
    'i',
    'del',
    's',
    'code',
    'pre',
    'blockquote',
    'ul',
    'ol',
    'li',
    'a',
    'h1',
    'h2',
    'h3',
    'h4',
    'h5',
    'h6',
    'hr',
    'table',
    'thead',
    'tbody',
    'tr',
    'th',
    'td',
    'img',
    'input',
    'span',
  ],
  allowedAttributes: {
    a: ['href', 'title', 'rel', 'target'],
    img: ['src', 'alt', 'title'],
    code: ['class'],
    ol: ['start'],
    th: ['align'],
    td: ['align'],
    input: ['type', 'checked', 'disabled'],
  },
  allowedClasses: { code: ['language-*'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['http', 'https'] },
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  transformTags: {
    a: (tagName, attribs) => ({ tagName, attribs: { ...attribs, rel: LINK_REL, target: '_blank' } }),
    // GFM task-list boxes only: nothing else an <input> could be
    input: (tagName, attribs) => ({
      tagName,
      attribs: { type: 'checkbox', disabled: '', ...(attribs.checked !== undefined ? { checked: '' } : {}) },
    }),
  },
};

/** The full renderer: marked, then sanitize-html. */
export function renderMarkdownFull(source: string): string {
  if (!source) return '';
  const html = marked.parse(source) as string;
  return sanitizeHtml(html, SANITIZE).trim();
}

export function renderMarkdown(source: string): string {
  return plainText(source) ?? renderMarkdownFull(source);
}

/**
 * Letters, combining marks, digits, single spaces and line feeds, and punctuation that opens no inline
 * markdown (`&` only before a space or the end: never an entity; `>` only inside a line: never a quote).
 */
const PLAIN = /^[\p{L}\p{M}\p{N} \n,.;:?!'"()\->&]*$/u;
/** what could still make markdown of those characters: an indented, list, quote, setext or GFM table
 * delimiter (`:-`) line start;
 * trailing spaces (a hard break); an `&` that could start an entity; a GFM `www.` autolink */
const NOT_PLAIN = /(^|\n)([ \->:]|\p{N}+[.)])| (\n|$)|&(?! )|www\./iu;

/** The HTML of a source without markdown syntax, or undefined when it may have some. */
export function plainText(source: string): string | undefined {
  if (!PLAIN.test(source) || NOT_PLAIN.test(source)) return undefined;
  const paragraphs: string[] = [];
  for (const block of source.split(/\n{2,}/)) {
    const lines = block.split('\n').filter((l) => l !== '');
    if (lines.length) paragraphs.push(`<p>${lines.map(escapeText).join('<br />')}</p>`);
  }
  return paragraphs.join('\n');
}

const escapeText = (s: string) => s.replace(/&/g, '&amp;').replace(/>/g, '&gt;');
