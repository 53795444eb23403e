/**
 * Services started while what they need is unreachable wait and retry instead of exiting, and say so
 * in /readyz (issue 12). The built gateway and dialogs run as child processes (their real main.ts):
 *
 * - the gateway, with nothing listening on its NATS port, answers at once: /healthz 200, /readyz and
 *   the API 503 `unavailable`, WebSocket upgrades 503; a nats-server started later on that port and
 *   a dialogs instance on it make /readyz 200, and a socket's request is answered;
 * - dialogs, with nothing listening on its database port (a forwarder to the real MySQL/MariaDB
 *   starts there later), retries the database with backoff while its telemetry /readyz says 503;
 *   once the forwarder listens it becomes ready and answers requests over NATS.
 *
 * - the notifier (like the mailer, services/mailer/test/startup.test.ts) serves its telemetry
 *   /readyz 503 before NATS answers, 200 once it does.
 *
 * No process may exit at any point.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeAll, expect, test } from '@jest/globals';
import { connectBus, createRpcClient, type NatsConnection } from '@parley/bus';
import { silentLogger } from '@parley/logger';
import { subjects } from '@parley/protocol';
import {
  connectWs,
  createTestDatabase,
  freePort,
  type PrivateNats,
  randomPrefix,
  startNatsServer,
  type TestDatabase,
  type TestSocket,
  waitFor,
} from '@parley/testing';
import { createUser, type StartedDialogs, startDialogs } from '../services/dialogs/test/harness.js';
import { ADMIN_TOKEN, JWT_SECRET, mintToken } from '../services/gateway/test/helpers.js';

const root = join(import.meta.dirname, '..');
const logger = silentLogger();

/** what the test started, undone in reverse order after each test (every step runs) */
const cleanup: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  const errors: string[] = [];
  for (const step of cleanup.splice(0).reverse()) {
    await step().catch((err: Error) => errors.push(err.message));
  }
  if (errors.length) throw new Error(`cleanup failed: ${errors.join('; ')}`);
}, 60_000);

beforeAll(() => {
  const build = spawnSync(
    process.execPath,
    [
      join(root, 'node_modules/typescript/bin/tsc'),
      '-b',
      'services/gateway',
      'services/dialogs',
      'services/notifier',
    ],
    { cwd: root, encoding: 'utf8' },
  );
  if (build.status !== 0) throw new Error(`tsc -b failed:\n${build.stdout}${build.stderr}`);
}, 120_000);

interface ServiceProcess {
  /** stdout and stderr so far */
  output(): string;
  /** no exit, no signal so far */
  alive(): boolean;
}

/** the built service as a child process; cleanup sends SIGTERM (SIGKILL if it lingers) and waits */
function spawnService(name: 'gateway' | 'dialogs' | 'notifier', env: Record<string, string>): ServiceProcess {
  const child: ChildProcess = spawn(process.execPath, [join(root, `services/${name}/dist/main.js`)], {
    cwd: root,
    env: { PATH: process.env.PATH, NODE_ENV: 'development', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  cleanup.push(async () => {
    if (!alive()) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  });
  return { output: () => out, alive };
}

/** status and JSON body of a GET; status 0 when nothing answers */
async function get(url: string): Promise<{ status: number; body: unknown }> {
  try {
    const res = await fetch(url);
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body };
  } catch {
    return { status: 0, body: undefined };
  }
}

/** wait until `url` answers `status`, failing at once (with its output) if `proc` exits meanwhile */
async function until(proc: ServiceProcess, url: string, status: number, timeoutMs: number): Promise<void> {
  await waitFor(
    async () => {
      if (!proc.alive()) throw new Error(`the process exited:\n${proc.output()}`);
      return (await get(url)).status === status;
    },
    { timeoutMs, intervalMs: 100, what: `${url} to answer ${status}` },
  ).catch((err: Error) => {
    throw proc.alive() ? err : new Error(`the process exited:\n${proc.output()}`);
  });
}

test('a gateway started before NATS answers at once (alive, not ready), then becomes ready and serves sockets', async () => {
  const prefix = randomPrefix();
  const natsPort = await freePort();
  const natsUrl = `nats://127.0.0.1:${natsPort}`;
  const port = await freePort();
  const metricsPort = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const gateway = spawnService('gateway', {
    PORT: String(port),
    METRICS_PORT: String(metricsPort),
    NATS_URL: natsUrl,
    SUBJECT_PREFIX: prefix,
    FILES_BUCKET_MAX_BYTES: String(64 * 1024 * 1024),
    JWT_SECRET,
    ADMIN_TOKEN,
    REQUEST_TIMEOUT_MS: '3000',
    UPGRADES_PER_IP_PER_SEC: '0',
    LOG_LEVEL: 'info',
  });

  // nothing listens on the NATS port: the port answers anyway
  await until(gateway, `${base}/healthz`, 200, 30_000);
  expect(await get(`${base}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
  const notReady = await get(`${base}/readyz`);
  expect(notReady).toMatchObject({ status: 503, body: { code: 'unavailable' } });
  expect(Object.keys(notReady.body as object).sort()).toEqual(['code', 'detail']);
  expect(await get(`${base}/api/users/me/`)).toMatchObject({ status: 503, body: { code: 'unavailable' } });
  expect((await get(`http://127.0.0.1:${metricsPort}/readyz`)).status).toBe(503);
  await expect(connectWs(base, { token: await mintToken(1) })).rejects.toMatchObject({ status: 503 });
  expect(gateway.output()).not.toContain('"msg":"nats connected"');
  expect(gateway.alive()).toBe(true);

  // NATS comes up on that port (JetStream, a store of its own), and a dialogs instance with it
  const nats: PrivateNats = await startNatsServer({ port: natsPort });
  // stopped last: the gateway and dialogs drain their connections when they stop
  cleanup.unshift(() => nats.stop());
  const dialogs: StartedDialogs = await startDialogs({ prefix, config: { NATS_URL: [natsUrl] } });
  cleanup.push(() => dialogs.stop());

  await until(gateway, `${base}/readyz`, 200, 60_000);
  expect(await get(`${base}/readyz`)).toEqual({ status: 200, body: { status: 'ready' } });
  expect((await get(`http://127.0.0.1:${metricsPort}/readyz`)).status).toBe(200);

  await createUser(dialogs.rpc, 1);
  const socket: TestSocket = await connectWs(base, { token: await mintToken(1) });
  cleanup.push(() => socket.close());
  const answer = await socket.request({ event: 'notifications.dialogs.count' }, 10_000);
  expect(answer).toMatchObject({ type: 'ws_send', event: 'notifications.dialogs.count', data: 0 });
  expect(answer.exception).toBeUndefined();
  expect(gateway.alive()).toBe(true);
}, 150_000);

test('dialogs started before its database answers retries with backoff, says 503, then serves', async () => {
  const prefix = randomPrefix();
  const db: TestDatabase = await createTestDatabase();
  cleanup.push(() => db.drop());
  const nats = await startNatsServer();
  cleanup.push(() => nats.stop());
  // MYSQL_URL points at a loopback port where nothing listens yet; a forwarder to the real server
  // opens there later
  const real = new URL(db.url);
  const forwardPort = await freePort();
  const viaForwarder = new URL(db.url);
  viaForwarder.hostname = '127.0.0.1';
  viaForwarder.port = String(forwardPort);
  const metricsPort = await freePort();
  const metrics = `http://127.0.0.1:${metricsPort}`;
  const dialogs = spawnService('dialogs', {
    MYSQL_URL: viaForwarder.toString(),
    NATS_URL: nats.url,
    SUBJECT_PREFIX: prefix,
    METRICS_PORT: String(metricsPort),
    OUTBOX_POLL_MS: '200',
    LOG_LEVEL: 'warn',
  });

  await until(dialogs, `${metrics}/healthz`, 200, 30_000);
  // it keeps trying: one warning per failed attempt
  const retries = () =>
    dialogs
      .output()
      .split('\n')
      .filter((l) => l.includes('"msg":"database failed; retrying"'));
  await waitFor(() => retries().length >= 3 || !dialogs.alive(), {
    timeoutMs: 30_000,
    what: 'three failed database attempts',
  });
  expect(dialogs.alive()).toBe(true);
  expect(await get(`${metrics}/readyz`)).toEqual({ status: 503, body: { status: 'starting' } });
  const attempts = retries().map((l) => JSON.parse(l) as { attempt: number; retry_in_ms: number });
  expect(attempts.map((a) => a.attempt).slice(0, 3)).toEqual([1, 2, 3]);
  expect(attempts.every((a) => a.retry_in_ms > 0)).toBe(true);

  const forwarder = await startForwarder(forwardPort, real.hostname, Number(real.port || 3306));
  // closed last: dialogs closes its database connections through it when it stops
  cleanup.unshift(() => forwarder.close());
  await until(dialogs, `${metrics}/readyz`, 200, 60_000);
  expect(await get(`${metrics}/readyz`)).toEqual({ status: 200, body: { status: 'ready' } });
  expect(forwarder.connections()).toBeGreaterThan(0);

  const nc: NatsConnection = await connectBus({ servers: [nats.url], name: 'startup-wait-test', logger });
  cleanup.push(() => nc.close());
  const user = await createUser(createRpcClient(nc, subjects(prefix), { timeoutMs: 10_000 }), 7);
  expect(user).toMatchObject({ id: 7, email: 'user7@example.com' });
  expect(dialogs.alive()).toBe(true);
}, 150_000);

test('a notifier started before NATS serves /readyz 503 at once, 200 once NATS is up', async () => {
  const natsPort = await freePort();
  const metricsPort = await freePort();
  const metrics = `http://127.0.0.1:${metricsPort}`;
  const notifier = spawnService('notifier', {
    NATS_URL: `nats://127.0.0.1:${natsPort}`,
    SUBJECT_PREFIX: randomPrefix(),
    METRICS_PORT: String(metricsPort),
    LEADER_LEASE_SECONDS: '1',
    LOG_LEVEL: 'info',
  });
  await until(notifier, `${metrics}/healthz`, 200, 30_000);
  expect(await get(`${metrics}/readyz`)).toEqual({ status: 503, body: { status: 'starting' } });

  const nats = await startNatsServer({ port: natsPort });
  cleanup.unshift(() => nats.stop());
  await until(notifier, `${metrics}/readyz`, 200, 60_000);
  expect(notifier.alive()).toBe(true);
}, 120_000);

interface Forwarder {
  /** connections forwarded so far */
  connections(): number;
  close(): Promise<void>;
}

/** a TCP forwarder on 127.0.0.1:`port` to `host`:`targetPort` */
async function startForwarder(port: number, host: string, targetPort: number): Promise<Forwarder> {
  const open = new Set<Socket>();
  let count = 0;
  const server: Server = createServer((client) => {
    count++;
    const upstream = tcpConnect(targetPort, host);
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => open.delete(s));
    }
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
