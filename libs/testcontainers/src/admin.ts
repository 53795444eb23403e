/** The admin API calls a test needs (PROTOCOL.md §5), the same in both modes. */
import type { DialogDto, UserRecordDto } from '@parley/protocol';
import { signToken, type TokenClaims } from './token.js';
import type { CreateUserFields, ParleyMail, StartedParley } from './types.js';

export function createAdmin(httpUrl: string, adminToken: string) {
  const call = async <T>(method: string, path: string, body: unknown): Promise<T> => {
    const res = await fetch(`${httpUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  };
  let nextId = 0;
  return {
    upsertUser(fields: CreateUserFields): Promise<UserRecordDto> {
      const id = fields.id ?? ++nextId;
      if (fields.id !== undefined) nextId = Math.max(nextId, fields.id);
      const { id: _id, ...rest } = fields;
      return call<UserRecordDto>('PUT', `/api/admin/users/${id}`, {
        email: `user${id}@example.com`,
        first_name: `User`,
        last_name: `${id}`,
        ...rest,
      });
    },
    createDialog(users: number[], withRole: 'support' | null = null): Promise<DialogDto> {
      return call<DialogDto>('POST', '/api/admin/dialogs', { users, with_role: withRole });
    },
  };
}

/** Poll `check` until it holds; fails with `what` and the last error after `timeoutMs`. */
export async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err instanceof Error ? `: ${err.message}` : '';
    }
    if (Date.now() > deadline) throw new Error(`Parley did not become ready: ${what}${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What both modes know once the gateway answers; the handle a test gets is built from it alike. */
export interface ParleyEndpoints {
  mode: StartedParley['mode'];
  wsUrl: string;
  httpUrl: string;
  prefix: string;
  adminToken: string;
  jwtSecret: string;
  messages: () => Promise<ParleyMail[]>;
  stop: () => Promise<void>;
}

/** The handle of a started Parley: tokens, users and dialogs through the admin API, the mail. */
export function startedParley(e: ParleyEndpoints): StartedParley {
  const admin = createAdmin(e.httpUrl, e.adminToken);
  const mintToken = (userId: number, claims: TokenClaims = {}) => signToken(e.jwtSecret, userId, claims);
  return {
    mode: e.mode,
    wsUrl: e.wsUrl,
    httpUrl: e.httpUrl,
    prefix: e.prefix,
    adminToken: e.adminToken,
    jwtSecret: e.jwtSecret,
    mintToken,
    async createUser(fields = {}) {
      const user = await admin.upsertUser(fields);
      return { ...user, token: mintToken(user.id, { email: user.email }) };
    },
    createDialog: (users, o = {}) => admin.createDialog(users, o.with_role ?? null),
    mail: { messages: e.messages },
    stop: e.stop,
  };
}
