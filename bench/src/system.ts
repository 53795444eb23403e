/**
 * The system under test: the four built services as child processes on a fresh database and a random
 * subject prefix, and everything needed to remove them again (processes by PID, the database, the
 * JetStream streams/KV/object buckets named from that prefix, the mail outbox directory). One service
 * can be stopped (by the PID this run started) and started again with the same settings mid-run.
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
  /** extra env of every service (BENCH_SERVICE_ENV: tries a setting, e.g. DB_GROUP_COMMIT_MAX=1) */
  serviceEnv?: Record<string, string>;
  /** the repository whose `services/<name>/dist/main.js` run (default: this one); compares builds */
  servicesRoot?: string;
  /** when set, each service writes a V8 CPU profile (`--cpu-prof`) into `<dir>/<service>/` at exit */
  cpuProfDir?: string;
}

/** the gateway is not among them: the scenarios hold its URL and sockets */
export type RestartableService = 'dialogs' | 'notifier' | 'mailer';

export interface System {
  baseUrl: string;
  wsUrl: string;
  adminToken: string;
  jwtSecret: string;
  prefix: string;
  dbName: string;
  gateway: Child;
  /** the running services; a restarted one replaces its old entry (same name, new PID) */
  children: Child[];
  /** stop one service by the PID this run started it with (SIGTERM, SIGKILL after a grace) */
  stopService(name: RestartableService): Promise<Child>;
  /** start a stopped service again, same env, and wait for its /readyz (notifier, mailer: on their metrics port; dialogs: the gateway's) */
  startService(name: RestartableService): Promise<Child>;
  /**
   * another notifier on the same prefix, counted in `children` (CPU per process) until the caller stops
   * it with the returned `stop`; its /metrics and /readyz on `metricsUrl`
   */
  startExtraNotifier(): Promise<{ child: Child; metricsUrl: string; stop(): Promise<void> }>;
  /** the first notifier's /metrics and /readyz */
  notifierMetricsUrl: string;
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

  const gatewayEnv = (port: number) => ({
    ...common,
    PORT: String(port),
    JWT_SECRET: jwtSecret,
    ADMIN_TOKEN: adminToken,
    ...opts.gatewayEnv,
    ...opts.serviceEnv,
  });
  // the notifier and the mailer serve /readyz on a metrics port (nothing scrapes /metrics during the run)
  const metricsPorts = { notifier: await freePort(), mailer: await freePort() };
  const envOf: Record<RestartableService | 'gateway', Record<string, string>> = {
    dialogs: { ...common, MYSQL_URL: `${opts.mysqlServer}/${dbName}`, ...opts.serviceEnv },
    notifier: { ...common, METRICS_PORT: String(metricsPorts.notifier), ...opts.serviceEnv },
    mailer: {
      ...common,
      MAIL_OUTBOX_DIR: outbox,
      METRICS_PORT: String(metricsPorts.mailer),
      ...opts.serviceEnv,
    },
    gateway: gatewayEnv(port),
  };
  const launch = (name: RestartableService | 'gateway') =>
    startChild(name, mainOf(name), envOf[name], [], profArgs(name));
  const baseUrl = `http://127.0.0.1:${port}`;
  /** where a restarted service says it is ready (dialogs: the gateway's /readyz asks it) */
  const readyUrlOf = (name: RestartableService) =>
    name === 'dialogs' ? baseUrl : `http://127.0.0.1:${metricsPorts[name]}`;
  const running = (name: RestartableService) => {
    const c = children.find((x) => x.name === name);
    if (!c) throw new Error(`no ${name} child`);
    return c;
  };

  try {
    children.push(launch('dialogs'), launch('notifier'), launch('mailer'));
    const gateway = launch('gateway');
    children.push(gateway);
    await waitReady(baseUrl, children, 45_000);
    await Promise.all(
      (['notifier', 'mailer'] as const).map((n) => waitReady(readyUrlOf(n), children, 45_000)),
    );
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
      async stopService(name) {
        const c = running(name);
        await c.stop();
        return c;
      },
      async startService(name) {
        const old = running(name);
        if (!old.exited()) throw new Error(`${name} (pid ${old.pid}) is still running`);
        const child = launch(name);
        // same place in the list: teardown still stops the gateway first
        children[children.indexOf(old)] = child;
        await waitReady(readyUrlOf(name), children, 45_000);
        return child;
      },
      notifierMetricsUrl: readyUrlOf('notifier'),
      async startExtraNotifier() {
        const extraPort = await freePort();
        const child = startChild(
          'notifier-2',
          mainOf('notifier'),
          { ...envOf.notifier, METRICS_PORT: String(extraPort) },
          [],
          profArgs('notifier-2'),
        );
        children.push(child);
        const stop = async () => {
          await child.stop();
          const i = children.indexOf(child);
          if (i >= 0) children.splice(i, 1);
        };
        const metricsUrl = `http://127.0.0.1:${extraPort}`;
        try {
          await waitReady(metricsUrl, children, 30_000);
        } catch (err) {
          await stop();
          throw err;
        }
        return { child, metricsUrl, stop };
      },
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

/** GET /readyz answers 200: the gateway once it has NATS and dialogs answers; the notifier and mailer once they consume. */
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
