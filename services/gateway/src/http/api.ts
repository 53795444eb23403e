/** The user HTTP API: PATCH /api/users/me/, POST /api/dialogs/new-message/ (PROTOCOL.md §5). */
import type { RpcClient } from '@parley/bus';
import { rpcRequests } from '@parley/protocol';
import type { Authenticator } from '../auth/authenticate.js';
import { requireUser, USER_SECURITY } from './auth.js';
import { jsonObject } from './body.js';
import { call } from './call.js';
import { errors, jsonSchemaOf, object } from './openapi.js';
import type { HttpRoute } from './route.js';

export interface ApiDeps {
  rpc: RpcClient;
  authenticate: Authenticator;
}

export function apiRoutes(deps: ApiDeps): HttpRoute[] {
  return [
    {
      method: 'PATCH',
      url: '/api/users/me/',
      name: 'users.update_me',
      schema: {
        summary: 'The caller’s own preferences',
        tags: ['users'],
        security: USER_SECURITY,
        body: jsonSchemaOf(rpcRequests['users.update_me'].shape.params),
        response: { 200: object('User'), ...errors(400, 401, 413, 429, 503) },
      },
      async handle(request) {
        const principal = await requireUser(deps.authenticate, request);
        const params = jsonObject(request.body);
        const caller = { user_id: principal.user_id, conn_id: null };
        const { data } = await call(deps.rpc, 'users.update_me', { caller, params }, request.id);
        return data;
      },
    },
    {
      method: 'POST',
      url: '/api/dialogs/new-message/',
      name: 'dialogs.new_message',
      limit: 'new_message',
      schema: {
        summary: 'Write to the caller’s reviewer (e-mails support users)',
        tags: ['dialogs'],
        security: USER_SECURITY,
        body: jsonSchemaOf(rpcRequests['dialogs.new_message'].shape.params),
        response: { 201: object('Message'), ...errors(400, 401, 403, 413, 429, 503) },
      },
      async handle(request, reply) {
        const principal = await requireUser(deps.authenticate, request);
        const params = jsonObject(request.body);
        const caller = { user_id: principal.user_id, conn_id: null };
        const { data } = await call(deps.rpc, 'dialogs.new_message', { caller, params }, request.id);
        return reply.code(201).send(data);
      },
    },
  ];
}
