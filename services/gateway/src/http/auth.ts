/** Who calls the HTTP API: a user (JWT) or the admin (ADMIN_TOKEN). */
import { timingSafeEqual } from 'node:crypto';
import { ParleyError } from '@parley/protocol';
import type { FastifyRequest } from 'fastify';
import type { Authenticator, Principal } from '../auth/authenticate.js';
import { bearerFrom, tokenFromHttp } from '../auth/token.js';
import type { TokenVerifier } from '../auth/verify.js';

export function requireUser(authenticate: Authenticator, request: FastifyRequest): Promise<Principal> {
  return authenticate(tokenFromHttp(request.raw), request.id);
}

/** ADMIN_TOKEN unset: every admin call is refused (403); a missing or wrong token: 401. */
export function requireAdmin(adminToken: string | null, request: FastifyRequest): void {
  if (!adminToken) throw new ParleyError('forbidden', { message: 'the admin API is disabled' });
  const given = bearerFrom(request.headers.authorization, ['bearer']);
  const a = Buffer.from(given ?? '');
  const b = Buffer.from(adminToken);
  if (!given || a.length !== b.length || !timingSafeEqual(a, b)) throw new ParleyError('unauthorized');
}

/** True when the request carries the valid admin token (the admin API is not rate-limited). */
export function isAdmin(adminToken: string | null, request: FastifyRequest): boolean {
  try {
    requireAdmin(adminToken, request);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whom a request counts against for rate limits: the user of a valid token (verified locally, no
 * RPC), else the client address — so one user cannot spend another's allowance by naming them.
 */
export function rateKeyOf(verify: TokenVerifier): (request: FastifyRequest) => Promise<string> {
  return async (request) => {
    const token = tokenFromHttp(request.raw);
    if (token) {
      try {
        return `user:${(await verify(token)).user_id}`;
      } catch {
        // an invalid token counts against the address
      }
    }
    return `ip:${request.ip}`;
  };
}

/** the security requirement of a user route in the OpenAPI document */
export const USER_SECURITY = [{ jwt: [] }];
export const ADMIN_SECURITY = [{ admin: [] }];
