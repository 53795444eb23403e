/**
 * The system under test: the four built services as child processes on a fresh database and a random
 * subject prefix, and everything needed to remove them again (processes by PID, the database, the
 * JetStream streams/KV/object buckets named from that prefix, the mail outbox directory).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@parley/testing';
import { createConnection } from 'mysql2/promise';
import type { NatsConnection } from 'nats';
import { sleep } from './pacing.js';
import { type Child, startChild } from './processes.js';

export interface SystemOptions {
  /** mysql://user:pass@host:port, no database */
  mysqlServer: string;
  natsUrl: string;
  /** extra gateway env (limits the bench must lift) */
  gatewayEnv?: Record<string, string>;
  /** the repository whose `services/<name>/dist/main.js` run (default: this one); compares builds */
  servicesRoot?: string;
  /** when set, each service writes a V8 CPU profile (`--cpu-prof`) into `<dir>/<service>/` at exit */
  cpuProfDir?: string;
}

export interface System {
  baseUrl: string;
  wsUrl: string;
  adminToken: string;
  jwtSecret: string;
  prefix: string;
  dbName: string;
  gateway: Child;
  children: Child[];
  /** another gateway instance on the same prefix (stopped by the caller), e.g. with `--inspect` */
  startExtraGateway(nodeArgs: string[]): Promise<{ child: Child; wsUrl: string }>;
  /** stop the services (gateway first), then drop what they created */
  teardown(nc: NatsConnection | null): Promise<string[]>;
}

const repo = fileURLToPath(new URL('../../', import.meta.url));

export async function startSystem(opts: SystemOptions): Promise<System> {
  const root = opts.servicesRoot ?? repo;
  const mainOf = (service: string) => join(root, 'services', service, 'dist', 'main.js');
  const profArgs = (service: string) =>
    opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${join(opts.cpuProfDir, service)}`] : [];
  const tag = randomBytes(4).toString('hex');
  const prefix = `bench_${tag}`;
  const dbName = `parley_bench_${tag}`;
  const jwtSecret = `bench-secret-${randomBytes(12).toString('hex')}`;
  const adminToken = `bench-admin-${randomBytes(12).toString('hex')}`;
  const outbox = mkdtempSync(join(tmpdir(), 'parley-bench-outbox-'));
  const port = await freePort();
  const common = {
    NATS_URL: opts.natsUrl,
    SUBJECT_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    // max_bytes is reserved on the server whether used or not
    FILES_BUCKET_MAX_BYTES: String(64 * 1024 * 1024),
  };
  const children: Child[] = [];

  const teardown = async (nc: NatsConnection | null) => {
    const notes: string[] = [];
    for (const c of [...children].reverse()) await c.stop();
    const db = await createConnection(opts.mysqlServer);
    try {
      await db.query(`DROP DATABASE IF EXISTS \`${dbName}\``);
      notes.push(`dropped database ${dbName}`);
    } finally {
      await db.end();
    }
    if (nc) notes.push(...(await deleteStreams(nc, prefix)));
    rmSync(outbox, { recursive: true, force: true });
    return notes;
  };

  try {
    children.push(
      startChild(
        'dialogs',
        mainOf('dialogs'),
        { ...common, MYSQL_URL: `${opts.mysqlServer}/${dbName}` },
        [],
        profArgs('dialogs'),
      ),
      startChild('notifier', mainOf('notifier'), common, [], profArgs('notifier')),
      startChild('mailer', mainOf('mailer'), { ...common, MAIL_OUTBOX_DIR: outbox }, [], profArgs('mailer')),
    );
    const gatewayEnv = (port: number) => ({
      ...common,
      PORT: String(port),
      JWT_SECRET: jwtSecret,
      ADMIN_TOKEN: adminToken,
      ...opts.gatewayEnv,
    });
    const gateway = startChild('gateway', mainOf('gateway'), gatewayEnv(port), [], profArgs('gateway'));
    children.push(gateway);
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitReady(baseUrl, children, 45_000);
    return {
      baseUrl,
      wsUrl: `ws://127.0.0.1:${port}/ws/`,
      adminToken,
      jwtSecret,
      prefix,
      dbName,
      gateway,
      children,
      teardown,
      async startExtraGateway(nodeArgs) {
        const extraPort = await freePort();
        const child = startChild('gateway-2', mainOf('gateway'), gatewayEnv(extraPort), [], nodeArgs);
        try {
          await waitReady(`http://127.0.0.1:${extraPort}`, [...children, child], 30_000);
        } catch (err) {
          await child.stop();
          throw err;
        }
        return { child, wsUrl: `ws://127.0.0.1:${extraPort}/ws/` };
      },
    };
  } catch (err) {
    await teardown(null).catch(() => undefined);
    throw err;
  }
}

/** GET /readyz answers 200 once the gateway has NATS and dialogs answers. */
async function waitReady(baseUrl: string, children: Child[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const dead = children.find((c) => c.exited());
    if (dead) throw new Error(`${dead.name} exited during start:\n${dead.tail()}`);
    try {
      const res = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(
    `the system was not ready within ${timeoutMs} ms:\n${children.map((c) => `--- ${c.name}\n${c.tail()}`).join('\n')}`,
  );
}

/** Every stream (events, KV_*, OBJ_*) whose name carries this run's prefix token. */
async function deleteStreams(nc: NatsConnection, prefix: string): Promise<string[]> {
  const jsm = await nc.jetstreamManager();
  const names: string[] = [];
  for await (const name of jsm.streams.names()) if (name.includes(prefix)) names.push(name);
  for (const name of names) await jsm.streams.delete(name);
  return names.length ? [`deleted streams ${names.join(', ')}`] : [];
}
