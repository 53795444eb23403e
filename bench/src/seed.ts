/** Seeding through the public admin API (PROTOCOL.md §5) and minting the platform's JWTs (HS256 with exp). */
import { SignJWT } from 'jose';
import { forEachLimited } from './pacing.js';

export interface Admin {
  upsertUsers(ids: readonly number[]): Promise<void>;
  /** one dialog per member list, in order; answers their ids */
  createDialogs(memberLists: readonly number[][]): Promise<number[]>;
}

const SEED_CONCURRENCY = 8;

export function adminClient(baseUrl: string, adminToken: string): Admin {
  const call = async (method: string, path: string, body: unknown) => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
    return JSON.parse(text) as { id: number };
  };
  return {
    async upsertUsers(ids) {
      await forEachLimited(ids, SEED_CONCURRENCY, async (id) => {
        // no e-mail preference: the relay copies none of their messages to the mailer (mailerNeeds)
        await call('PUT', `/api/admin/users/${id}`, {
          email: `u${id}@bench.invalid`,
          first_name: `U${id}`,
          last_name: 'Bench',
          email_notifications: false,
        });
      });
    },
    async createDialogs(memberLists) {
      const ids: number[] = new Array(memberLists.length);
      await forEachLimited(memberLists, SEED_CONCURRENCY, async (users, i) => {
        ids[i] = (await call('POST', '/api/admin/dialogs', { users })).id;
      });
      return ids;
    },
  };
}

export function tokenMinter(secret: string): (userId: number) => Promise<string> {
  const key = new TextEncoder().encode(secret);
  return (userId) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ user_id: userId, username: `u${userId}`, orig_iat: now })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(key);
  };
}
