/** HTML helpers of the templates: escaping and a last check on the already-sanitized message HTML. */
import { withoutRemoteContent } from './remote-content.js';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * `body` arrives sanitized by dialogs (marked + sanitize-html). The mailer
 * does not trust that blindly: anything active that a sanitizer would have
 * removed makes it fall back to the escaped markdown source; images and
 * anything else that loads from a server become links (remote-content.ts).
 */
const ACTIVE =
  /<\s*\/?\s*(script|iframe|frame|object|embed|style|link|meta|base|form|input|button|textarea|select|svg|math|template|noscript)\b|\son[a-z]+\s*=|(javascript|vbscript|livescript)\s*:|data\s*:\s*text\/html|expression\s*\(/i;

export function safeMessageHtml(body: string, markdown: string): string {
  if (!ACTIVE.test(body)) return withoutRemoteContent(body);
  return `<p>${escapeHtml(markdown).replace(/\n/g, '<br>')}</p>`;
}
