/** Who calls the HTTP API: a user (JWT) or the admin (ADMIN_TOKEN). */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ParleyError } from '@parley/protocol';
import type { Authenticator, Principal } from '../auth/authenticate.js';
import { bearerFrom, tokenFromHttp } from '../auth/token.js';

export function requireUser(
  authenticate: Authenticator,
  req: IncomingMessage,
  requestId: string,
): Promise<Principal> {
  return authenticate(tokenFromHttp(req), requestId);
}

/** ADMIN_TOKEN unset: every admin call is refused (403); a missing or wrong token: 401. */
export function requireAdmin(adminToken: string | null, req: IncomingMessage): void {
  if (!adminToken) throw new ParleyError('forbidden', { message: 'the admin API is disabled' });
  const given = bearerFrom(req.headers.authorization, ['bearer']);
  const a = Buffer.from(given ?? '');
  const b = Buffer.from(adminToken);
  if (!given || a.length !== b.length || !timingSafeEqual(a, b)) throw new ParleyError('unauthorized');
}
