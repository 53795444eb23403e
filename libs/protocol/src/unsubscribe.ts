/**
 * The one-click unsubscribe link of notification e-mails (RFC 8058): the mailer signs it, the
 * gateway verifies it. The token is HMAC-SHA256, keyed by JWT_SECRET, over
 * `parley-unsubscribe:v1:<user_id>`, base64url without padding (43 characters, no dots).
 *
 * Domain separation: a JWT's HMAC input is `<base64url>.<base64url>`, which never contains `:`,
 * so no unsubscribe MAC is ever a JWT signature under the same key (and the reverse); the token
 * itself has no dots, so it is never parsed as a JWT.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const UNSUBSCRIBE_TOKEN_DOMAIN = 'parley-unsubscribe:v1:';

/** The gateway path that answers one-click POSTs (and GETs with a confirmation form). */
export const UNSUBSCRIBE_PATH = /^\/api\/unsubscribe\/([^/]+)\/([^/]+)\/?$/;

const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

function isUserId(userId: number): boolean {
  return Number.isSafeInteger(userId) && userId > 0;
}

function mac(secret: string, userId: number): Buffer {
  return createHmac('sha256', secret).update(`${UNSUBSCRIBE_TOKEN_DOMAIN}${userId}`, 'utf8').digest();
}

export function signUnsubscribeToken(secret: string, userId: number): string {
  if (!isUserId(userId)) throw new RangeError('user id must be a positive integer');
  return mac(secret, userId).toString('base64url');
}

/** True only for the token signUnsubscribeToken gives this user under this secret (constant-time). */
export function verifyUnsubscribeToken(secret: string, userId: number, token: string): boolean {
  if (!isUserId(userId) || !TOKEN_RE.test(token)) return false;
  // compare the canonical text, so a non-canonical encoding of the right MAC is refused too
  const given = Buffer.from(token, 'ascii');
  const expected = Buffer.from(mac(secret, userId).toString('base64url'), 'ascii');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** `/api/unsubscribe/<user_id>/<token>`; append to the gateway's PUBLIC_URL. */
export function unsubscribePath(userId: number, token: string): string {
  return `/api/unsubscribe/${userId}/${encodeURIComponent(token)}`;
}

/** Parse a path's `<user_id>` segment: a canonical positive decimal integer, else null. */
export function parseUnsubscribeUserId(segment: string): number | null {
  if (!/^[1-9]\d{0,15}$/.test(segment)) return null;
  const id = Number(segment);
  return Number.isSafeInteger(id) ? id : null;
}
