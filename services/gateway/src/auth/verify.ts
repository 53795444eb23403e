/**
 * JWT verification: HS256 only (algorithm pinned: `none`, RS/HS confusion and every other
 * algorithm are refused), `exp` required. The user id comes from `user_id`, else `sub`.
 */
import { claimsSchema, ParleyError, type z } from '@parley/protocol';
import { jwtVerify } from 'jose';

export type Claims = z.output<typeof claimsSchema>;

export interface Identity {
  user_id: number;
  /** seconds since the epoch */
  exp: number;
  /** the profile fields of the token, for `users.upsert_from_claims` */
  claims: Claims;
}

export type TokenVerifier = (token: string) => Promise<Identity>;

const unauthorized = () => new ParleyError('unauthorized');

/**
 * Longest token looked at (characters). Platform tokens are a few hundred; anything past this is
 * refused like a malformed token without being decoded.
 */
export const MAX_TOKEN_CHARS = 8 * 1024;

export function createTokenVerifier(secret: string): TokenVerifier {
  const key = new TextEncoder().encode(secret);
  return async (token) => {
    if (token.length > MAX_TOKEN_CHARS) throw unauthorized();
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, key, { algorithms: ['HS256'], requiredClaims: ['exp'] }));
    } catch {
      throw unauthorized();
    }
    const rawId = payload.user_id ?? payload.sub;
    const fields: Record<string, unknown> = { user_id: rawId };
    for (const k of ['email', 'username', 'first_name', 'last_name'] as const) {
      if (typeof payload[k] === 'string') fields[k] = payload[k];
    }
    const parsed = claimsSchema.safeParse(fields);
    if (!parsed.success || typeof payload.exp !== 'number') throw unauthorized();
    return { user_id: parsed.data.user_id, exp: payload.exp, claims: parsed.data };
  };
}
