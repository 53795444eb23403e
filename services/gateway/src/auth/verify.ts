/**
 * JWT verification: HS256 only (algorithm pinned: `none`, RS/HS confusion and every other
 * algorithm are refused), `exp` required, `nbf` honoured. The user id comes from `user_id`, else
 * `sub`. Optional policy: `iss`, `aud`, and a longest lifetime (`exp` − `iat`, else `orig_iat`).
 */
import { claimsSchema, ParleyError, type z } from '@parley/protocol';
import { type JWTVerifyOptions, jwtVerify } from 'jose';

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

export interface TokenPolicy {
  /** `iss` must equal it */
  issuer?: string | null;
  /** `aud` must be or contain it */
  audience?: string | null;
  /** `exp` − (`iat` ?? `orig_iat` ?? now) must not exceed it, seconds */
  maxLifetimeSec?: number | null;
}

export function createTokenVerifier(secret: string, policy: TokenPolicy = {}): TokenVerifier {
  const key = new TextEncoder().encode(secret);
  const options: JWTVerifyOptions = { algorithms: ['HS256'], requiredClaims: ['exp'] };
  if (policy.issuer) options.issuer = policy.issuer;
  if (policy.audience) options.audience = policy.audience;
  const maxLifetime = policy.maxLifetimeSec ?? null;
  return async (token) => {
    if (token.length > MAX_TOKEN_CHARS) throw unauthorized();
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, key, options));
    } catch {
      throw unauthorized();
    }
    if (maxLifetime !== null && lifetime(payload) > maxLifetime) throw unauthorized();
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

/** seconds from issue to expiry: from `iat`, else the refresh chain's `orig_iat`, else from now */
function lifetime(payload: Record<string, unknown>): number {
  const exp = typeof payload.exp === 'number' ? payload.exp : Number.POSITIVE_INFINITY;
  const issued =
    typeof payload.iat === 'number'
      ? payload.iat
      : typeof payload.orig_iat === 'number'
        ? payload.orig_iat
        : Date.now() / 1000;
  return exp - issued;
}
