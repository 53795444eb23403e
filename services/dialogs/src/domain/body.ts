/** The body rules of `dialogs.messages.create` (PROTOCOL.md §4): blank is absent; at most MAX_BODY_CHARS characters. */
import { ParleyError } from '@parley/protocol';

export function normalizeBody(body: string | null, maxChars: number): string | null {
  if (body === null || body.trim() === '') return null;
  // characters are code points (an emoji is one), not UTF-16 units
  if (body.length > maxChars && [...body].length > maxChars) {
    throw new ParleyError('validation_error', { field: 'body', reason: 'too_long' });
  }
  return body;
}

export function bodyRequired(): ParleyError {
  return new ParleyError('validation_error', { field: 'body', reason: 'required' });
}

/**
 * `text` as a utf8mb4 column gives it back: a lone UTF-16 surrogate (not encodable) becomes U+FFFD,
 * as the driver's UTF-8 encoding does on the way in. Lets a write answer with what it stored
 * without reading it back.
 */
export function asStored(text: string): string {
  return /\p{Surrogate}/u.test(text) ? Buffer.from(text, 'utf8').toString('utf8') : text;
}
