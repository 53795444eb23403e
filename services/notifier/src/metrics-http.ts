/** A tiny HTTP endpoint for Prometheus: GET /metrics on METRICS_PORT (0 = off). */
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
): Promise<MetricsEndpoint | null> {
  if (!port) return null;
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
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
