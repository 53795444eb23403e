/**
 * GET /healthz (the process answers), GET /readyz (NATS connected and `dialogs` answering),
 * GET /metrics (this gateway's own Prometheus registry).
 */
import type { NatsConnection, RpcClient } from '@parley/bus';
import { ParleyError } from '@parley/protocol';
import type { Registry } from 'prom-client';
import type { Route } from './router.js';

export interface HealthDeps {
  nc: NatsConnection;
  rpc: RpcClient;
  registry: Registry;
  /** how long readiness waits for dialogs, ms */
  probeTimeoutMs: number;
}

export function healthRoutes(deps: HealthDeps): Route[] {
  return [
    {
      method: 'GET',
      path: /^\/healthz\/?$/,
      name: 'healthz',
      handle: async () => ({ status: 200, body: { status: 'ok' } }),
    },
    {
      method: 'GET',
      path: /^\/readyz\/?$/,
      name: 'readyz',
      async handle({ requestId }) {
        if (deps.nc.isClosed() || deps.nc.isDraining()) throw new ParleyError('unavailable');
        await probeDialogs(deps, requestId);
        return { status: 200, body: { status: 'ready' } };
      },
    },
    {
      method: 'GET',
      path: /^\/metrics\/?$/,
      name: 'metrics',
      async handle({ res }) {
        const text = await deps.registry.metrics();
        res.writeHead(200, { 'content-type': deps.registry.contentType });
        res.end(text);
        return undefined;
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
