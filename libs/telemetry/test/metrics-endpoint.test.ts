import { afterAll, expect, test } from '@jest/globals';
import { silentLogger } from '@parley/logger';
import { type MetricsEndpoint, serveMetrics } from '@parley/telemetry';
import { freePort } from '@parley/testing';
import { Counter, Registry } from 'prom-client';

let endpoint: MetricsEndpoint | null = null;
afterAll(async () => {
  await endpoint?.close();
});

test('serves the registry at /metrics and a health answer at /healthz; port 0 is off', async () => {
  expect(await serveMetrics(new Registry(), 0, silentLogger())).toBeNull();
  const registry = new Registry();
  new Counter({ name: 'parley_test_things_total', help: 'things', registers: [registry] }).inc(3);
  endpoint = await serveMetrics(registry, await freePort(), silentLogger());
  const base = `http://127.0.0.1:${endpoint?.port}`;
  const metrics = await fetch(`${base}/metrics`);
  expect(metrics.status).toBe(200);
  expect(await metrics.text()).toContain('parley_test_things_total 3');
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
  expect((await fetch(`${base}/nope`)).status).toBe(404);
});
