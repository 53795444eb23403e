/**
 * The image's HEALTHCHECK (scripts/healthcheck.mjs) against the real built services, started by
 * @parley/testcontainers in process mode: healthy while a service runs, unhealthy once it stopped.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, test } from '@jest/globals';
import { startParley } from '@parley/testcontainers';

const script = join(import.meta.dirname, '..', 'scripts', 'healthcheck.mjs');
const probe = (env: Record<string, string>) =>
  spawnSync(process.execPath, [script], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });

test('gateway and dialogs probes: 0 while running, 1 with a reason after stop', async () => {
  const parley = await startParley({ mode: 'process' });
  const gateway = { SERVICE: 'gateway', PORT: new URL(parley.httpUrl).port };
  const dialogs = { SERVICE: 'dialogs', NATS_URL: process.env.NATS_URL ?? '', SUBJECT_PREFIX: parley.prefix };
  try {
    expect(probe(gateway).status).toBe(0);
    expect(probe(dialogs).status).toBe(0);
  } finally {
    await parley.stop();
  }
  const down = probe(gateway);
  expect(down.status).toBe(1);
  expect(down.stderr).toMatch(/^unhealthy: /);
  expect(probe(dialogs)).toMatchObject({ status: 1, stderr: 'unhealthy: unavailable\n' });
  expect(probe({ SERVICE: 'notifier', METRICS_PORT: '0' })).toMatchObject({ status: 1 });
}, 120_000);
