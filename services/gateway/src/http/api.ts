/** The user HTTP API: PATCH /api/users/me/, POST /api/dialogs/new-message/ (PROTOCOL.md §5). */
import type { RpcClient } from '@parley/bus';
import type { Authenticator } from '../auth/authenticate.js';
import { requireUser } from './auth.js';
import { call } from './call.js';
import { type Route, readJson } from './router.js';

export interface ApiDeps {
  rpc: RpcClient;
  authenticate: Authenticator;
  maxJsonBytes: number;
}

export function apiRoutes(deps: ApiDeps): Route[] {
  return [
    {
      method: 'PATCH',
      path: /^\/api\/users\/me\/?$/,
      name: 'users.update_me',
      async handle({ req, requestId }) {
        const principal = await requireUser(deps.authenticate, req, requestId);
        const body = await readJson(req, deps.maxJsonBytes);
        const caller = { user_id: principal.user_id, conn_id: null };
        const { data } = await call(deps.rpc, 'users.update_me', { caller, params: body }, requestId);
        return { status: 200, body: data };
      },
    },
    {
      method: 'POST',
      path: /^\/api\/dialogs\/new-message\/?$/,
      name: 'dialogs.new_message',
      async handle({ req, requestId }) {
        const principal = await requireUser(deps.authenticate, req, requestId);
        const body = await readJson(req, deps.maxJsonBytes);
        const caller = { user_id: principal.user_id, conn_id: null };
        const { data } = await call(deps.rpc, 'dialogs.new_message', { caller, params: body }, requestId);
        return { status: 201, body: data };
      },
    },
  ];
}
