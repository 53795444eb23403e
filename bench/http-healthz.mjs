/**
 * req/s of GET /healthz on 127.0.0.1: the gateway's HTTP layer (fastify, dist/http/server.js) with
 * a bounded number of requests over keep-alive connections; with `--old <router.js>` also the
 * hand-written router it replaced (compiled from git history), in the same run, for a ratio.
 * Usage: npm run build && node bench/http-healthz.mjs [--old path/to/router.js] [--requests N]
 */
import { Agent, createServer, request } from 'node:http';
import { parseArgs } from 'node:util';
import { silentLogger } from '@parley/logger';

const { values } = parseArgs({
  options: { old: { type: 'string' }, requests: { type: 'string', default: '20000' } },
});
const total = Number(values.requests);
const CONCURRENCY = 32;

const { createHttpApp } = await import('../services/gateway/dist/http/server.js');
const { healthRoutes } = await import('../services/gateway/dist/http/health.js');
const { createMetrics } = await import('../services/gateway/dist/metrics.js');

async function load(port) {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let sent = 0;
  const one = () =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
  const worker = async () => {
    while (sent < total) {
      sent++;
      await one();
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const secs = (performance.now() - started) / 1000;
  agent.destroy();
  return Math.round(total / secs);
}

const nc = { isClosed: () => false, isDraining: () => false };
const results = {};
{
  const { app } = await createHttpApp({
    routes: healthRoutes({ nc, rpc: null, probeTimeoutMs: 1000 }),
    logger: silentLogger(),
    metrics: createMetrics(),
    locale: 'en',
    maxJsonBytes: 65536,
    limits: { generalPerMin: 1e6, newMessagePerHour: 1e6 },
    rateKey: async (r) => r.ip,
    unlimited: () => false,
    allowedOrigins: null,
    version: 'bench',
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  await load(app.server.address().port); // warm-up
  results.fastify = await load(app.server.address().port);
  await app.close();
}
if (values.old) {
  const { createRouter } = await import(values.old);
  const route = {
    method: 'GET',
    path: /^\/healthz\/?$/,
    name: 'healthz',
    handle: async () => ({ status: 200, body: { status: 'ok' } }),
  };
  const server = createServer(
    createRouter({ routes: [route], logger: silentLogger(), metrics: createMetrics(), locale: 'en' }),
  );
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  await load(server.address().port);
  results.old = await load(server.address().port);
  server.closeAllConnections();
  server.close();
}
console.log(JSON.stringify({ requests: total, concurrency: CONCURRENCY, req_per_s: results }));
