/** The admin API, `Authorization: Bearer <ADMIN_TOKEN>` (PROTOCOL.md §5). */
import type { RpcClient } from '@parley/bus';
import { rpcRequests } from '@parley/protocol';
import { ADMIN_SECURITY, requireAdmin } from './auth.js';
import { jsonObject } from './body.js';
import { call } from './call.js';
import { errors, jsonSchemaOf, object } from './openapi.js';
import type { HttpRoute } from './route.js';

export interface AdminDeps {
  rpc: RpcClient;
  adminToken: string | null;
}

const adminErrors = errors(400, 401, 403, 413, 429, 503);

const figures = {
  count: { type: 'integer' },
  p50_s: { type: ['number', 'null'] },
  p90_s: { type: ['number', 'null'] },
  max_s: { type: ['number', 'null'] },
  awaiting_now: { type: 'integer' },
};
const responseTimesSchema = {
  description: 'Response times: nearest-rank percentiles in seconds over [from, to)',
  type: 'object',
  properties: {
    from: { type: 'string' },
    to: { type: 'string' },
    reviewers: {
      type: 'array',
      items: { type: 'object', properties: { user_id: { type: 'integer' }, ...figures } },
    },
    support_team: { type: 'object', properties: figures },
  },
};

export function adminRoutes(deps: AdminDeps): HttpRoute[] {
  return [
    {
      method: 'PUT',
      url: '/api/admin/users/:id',
      name: 'admin.users.upsert',
      schema: {
        summary: 'Create or update a user',
        tags: ['admin'],
        security: ADMIN_SECURITY,
        params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
        body: jsonSchemaOf(rpcRequests['admin.users.upsert'].omit({ id: true })),
        response: { 200: object('User record'), ...adminErrors },
      },
      async handle(request) {
        requireAdmin(deps.adminToken, request);
        const body = jsonObject(request.body);
        const { id } = request.params as { id: string };
        const { data } = await call(deps.rpc, 'admin.users.upsert', { ...body, id }, request.id);
        return data;
      },
    },
    {
      method: 'POST',
      url: '/api/admin/dialogs',
      name: 'admin.dialogs.create',
      schema: {
        summary: 'Create a dialog of the given users',
        tags: ['admin'],
        security: ADMIN_SECURITY,
        body: jsonSchemaOf(rpcRequests['admin.dialogs.create']),
        response: { 201: object('Dialog'), ...adminErrors },
      },
      async handle(request, reply) {
        requireAdmin(deps.adminToken, request);
        const body = jsonObject(request.body);
        const { data } = await call(deps.rpc, 'admin.dialogs.create', body, request.id);
        return reply.code(201).send(data);
      },
    },
    {
      method: 'GET',
      url: '/api/admin/dialogs',
      name: 'admin.dialogs.list',
      schema: {
        summary: 'Dialogs of a user',
        tags: ['admin'],
        security: ADMIN_SECURITY,
        querystring: { type: 'object', properties: { user_id: { type: 'string' } } },
        response: {
          200: { description: 'Dialogs', type: 'array', items: { type: 'object' } },
          ...adminErrors,
        },
      },
      async handle(request) {
        requireAdmin(deps.adminToken, request);
        const userId = (request.query as Record<string, unknown>).user_id;
        const input = { user_id: typeof userId === 'string' && userId ? userId : null };
        const { data } = await call(deps.rpc, 'admin.dialogs.list', input, request.id);
        return data;
      },
    },
    {
      method: 'GET',
      url: '/api/admin/stats/response-times',
      name: 'admin.stats.response_times',
      schema: {
        summary: "Reviewers' and the support team's response times (PROTOCOL.md §9)",
        tags: ['admin'],
        security: ADMIN_SECURITY,
        querystring: {
          type: 'object',
          properties: {
            from: { type: 'string', description: 'ISO 8601 instant; default: 30 days before `to`' },
            to: { type: 'string', description: 'ISO 8601 instant, exclusive; default: now' },
            reviewer_id: { type: 'string', description: 'only this reviewer' },
          },
        },
        response: { 200: responseTimesSchema, ...adminErrors },
      },
      async handle(request) {
        requireAdmin(deps.adminToken, request);
        const q = request.query as Record<string, unknown>;
        const given = (v: unknown) => (typeof v === 'string' && v ? v : null);
        const input = { from: given(q.from), to: given(q.to), reviewer_id: given(q.reviewer_id) };
        const { data } = await call(deps.rpc, 'admin.stats.response_times', input, request.id);
        return data;
      },
    },
  ];
}
