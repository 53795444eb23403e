/** HS256 tokens as the education platform issues them (PROTOCOL.md §1), signed with node:crypto. */
import { createHmac } from 'node:crypto';

export interface TokenClaims extends Record<string, unknown> {
  /** lifetime in seconds (default one hour); becomes `exp` */
  ttlSec?: number;
}

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

export function signToken(secret: string, userId: number, claims: TokenClaims = {}): string {
  const { ttlSec = 3600, ...extra } = claims;
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    user_id: userId,
    username: `user${userId}`,
    email: `user${userId}@example.com`,
    orig_iat: now,
    ...extra,
    exp: now + ttlSec,
  };
  const head = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64url(JSON.stringify(payload))}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}
