/** The admin API calls a test needs (PROTOCOL.md §5), the same in both modes. */
import type { DialogDto, UserRecordDto } from '@parley/protocol';
import type { CreateUserFields } from './types.js';

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
