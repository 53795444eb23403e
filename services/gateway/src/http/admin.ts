/** The admin API, `Authorization: Bearer <ADMIN_TOKEN>` (PROTOCOL.md §5). */
import type { RpcClient } from '@parley/bus';
import { requireAdmin } from './auth.js';
import { call } from './call.js';
import { type Route, readJson } from './router.js';

export interface AdminDeps {
  rpc: RpcClient;
  adminToken: string | null;
  maxJsonBytes: number;
}

export function adminRoutes(deps: AdminDeps): Route[] {
  return [
    {
      method: 'PUT',
      path: /^\/api\/admin\/users\/([^/]+)\/?$/,
      name: 'admin.users.upsert',
      async handle({ req, params, requestId }) {
        requireAdmin(deps.adminToken, req);
        const body = await readJson(req, deps.maxJsonBytes);
        const { data } = await call(deps.rpc, 'admin.users.upsert', { ...body, id: params[0] }, requestId);
        return { status: 200, body: data };
      },
    },
    {
      method: 'POST',
      path: /^\/api\/admin\/dialogs\/?$/,
      name: 'admin.dialogs.create',
      async handle({ req, requestId }) {
        requireAdmin(deps.adminToken, req);
        const body = await readJson(req, deps.maxJsonBytes);
        const { data } = await call(deps.rpc, 'admin.dialogs.create', body, requestId);
        return { status: 201, body: data };
      },
    },
    {
      method: 'GET',
      path: /^\/api\/admin\/dialogs\/?$/,
      name: 'admin.dialogs.list',
      async handle({ req, url, requestId }) {
        requireAdmin(deps.adminToken, req);
        const userId = url.searchParams.get('user_id');
        const { data } = await call(deps.rpc, 'admin.dialogs.list', { user_id: userId || null }, requestId);
        return { status: 200, body: data };
      },
    },
  ];
}
