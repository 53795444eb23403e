/**
 * GET /healthz (the process answers), GET /readyz (NATS connected and `dialogs` answering).
 * Metrics are not here: they are served on the internal METRICS_PORT (app.ts).
 */
import type { NatsConnection, RpcClient } from '@parley/bus';
import { ParleyError } from '@parley/protocol';
import { errors } from './openapi.js';
import type { HttpRoute } from './route.js';

export interface HealthDeps {
  nc: NatsConnection;
  rpc: RpcClient;
  /** how long readiness waits for dialogs, ms */
  probeTimeoutMs: number;
}

const status = (value: string) => ({
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string', const: value } },
});

export function healthRoutes(deps: HealthDeps): HttpRoute[] {
  return [
    {
      method: 'GET',
      url: '/healthz',
      name: 'healthz',
      limit: 'none',
      schema: {
        summary: 'The process answers',
        tags: ['operations'],
        response: { 200: { description: 'alive', ...status('ok') } },
      },
      handle: async () => ({ status: 'ok' }),
    },
    {
      method: 'GET',
      url: '/readyz',
      name: 'readyz',
      limit: 'none',
      schema: {
        summary: 'NATS connected and the dialogs service answering',
        tags: ['operations'],
        response: { 200: { description: 'ready', ...status('ready') }, ...errors(503) },
      },
      async handle(request) {
        if (deps.nc.isClosed() || deps.nc.isDraining()) throw new ParleyError('unavailable');
        await probeDialogs(deps, request.id);
        return { status: 'ready' };
      },
    },
  ];
}

/**
 * The cheapest question dialogs can answer: a `files.get` it refuses at validation, before any
 * database work. Any answer proves it is there; only `unavailable` (no responder, timeout) is not.
 */
async function probeDialogs(deps: HealthDeps, requestId: string): Promise<void> {
  try {
    await deps.rpc.request('files.get', { storage_key: '' }, { timeoutMs: deps.probeTimeoutMs, requestId });
  } catch (err) {
    if (err instanceof ParleyError && err.code === 'unavailable') throw err;
  }
}
