/**
 * A small HTTP endpoint for services without an HTTP server of their own
 * (notifier, mailer): `GET /metrics` (Prometheus text from the service's own
 * registry), `GET /healthz` (the process answers) and `GET /readyz` (200 once the service is
 * connected and its streams, buckets and consumers exist; 503 while start-up is still waiting for
 * NATS, a node or the database). Off when the port is 0.
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from '@parley/logger';
import type { Registry } from 'prom-client';

export interface MetricsEndpoint {
  port: number;
  close(): Promise<void>;
}

export async function serveMetrics(
  registry: Registry,
  port: number,
  logger: Logger,
  opts: { ready?: () => boolean } = {},
): Promise<MetricsEndpoint | null> {
  if (!port) return null;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (req.method === 'GET' && path === '/readyz') {
      const ready = opts.ready ? opts.ready() : true;
      res
        .writeHead(ready ? 200 : 503, { 'content-type': 'application/json' })
        .end(ready ? '{"status":"ready"}' : '{"status":"starting"}');
      return;
    }
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry
      .metrics()
      .then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text))
      .catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve());
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  logger.info({ port: bound }, 'metrics listening');
  return {
    port: bound,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
