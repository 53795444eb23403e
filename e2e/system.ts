/**
 * The whole system for end-to-end tests on a private nats-server (outage and
 * restart tests must not disturb the shared one): dialogs on a fresh database,
 * a gateway with real sockets, and notifiers/mailers started and stopped by the
 * test (in-process, or as child processes of the built service to be SIGKILLed).
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from '@jest/globals';
import { connectBus, kvStreamName, type NatsConnection } from '@parley/bus';
import { parseConfig } from '@parley/config';
import { silentLogger } from '@parley/logger';
import {
  subjects as makeSubjects,
  NOTIFY_PARTITIONS,
  type ServiceName,
  type Subjects,
} from '@parley/protocol';
import {
  connectWs,
  type Frame,
  type NatsCluster,
  type PrivateNats,
  randomPrefix,
  type SmtpSink,
  startNatsCluster,
  startNatsServer,
  startSmtpSink,
  type TestSocket,
  waitFor,
} from '@parley/testing';
import { type StartedDialogs, startDialogs } from '../services/dialogs/test/harness.js';
import { mintToken, type StartedGateway, startGateway } from '../services/gateway/test/helpers.js';
import { createMailerService, type MailerService } from '../services/mailer/src/app.js';
import { mailerConfigSpec } from '../services/mailer/src/config.js';
import { createNotifierService, type NotifierService } from '../services/notifier/src/app.js';
import { notifierConfigSpec } from '../services/notifier/src/config.js';

export const root = join(import.meta.dirname, '..');
const logger = silentLogger();

export interface NotifierProcess {
  child: ChildProcess;
  /** stdout so far (pino JSON lines) */
  output(): string;
  /** the log records so far */
  logs(): Array<Record<string, unknown>>;
  exited: Promise<unknown>;
}

export interface System {
  /** the private server; on a cluster, `url` lists every node and kill/restart act on all of them */
  nats: PrivateNats;
  /** the three-node cluster, when started with `cluster: true` */
  cluster?: NatsCluster;
  prefix: string;
  subjects: Subjects;
  dialogs: StartedDialogs;
  gateway: StartedGateway;
  /** the test's own connection (consumer state, KV) */
  nc: NatsConnection;
  /** a socket of `userId` (on `gateway`, default the first; `?since=` when given), closed by stop() */
  socket(userId: number, opts?: { gateway?: StartedGateway; since?: number }): Promise<TestSocket>;
  /** one more gateway on the same NATS and prefix; stop() stops it unless the test did */
  startGateway(env?: Record<string, string>): Promise<StartedGateway>;
  /** an in-process notifier on its own connection; stop() stops it unless the test did */
  startNotifier(env?: Record<string, string>): Promise<NotifierService>;
  /** the built notifier (`services/notifier/dist/main.js`) as a child process; stop() SIGKILLs it */
  spawnNotifier(env?: Record<string, string>): NotifierProcess;
  /** an in-process mailer sending to an SMTP sink; stop() stops both */
  startMailer(): Promise<{ mailer: MailerService; sink: SmtpSink }>;
  /** wait until `service`'s durable consumer (the notifier: every partition's) has nothing pending and nothing unacked */
  drained(service: ServiceName, timeoutMs?: number): Promise<void>;
  /** everything, in reverse order; every step runs (bounded in time) even when one fails or hangs */
  stop(): Promise<void>;
}

export async function startSystem(
  opts: {
    gatewayEnv?: Record<string, string>;
    serviceEnv?: Record<string, string>;
    /** a three-node cluster with every service on NATS_REPLICAS=3 instead of one server */
    cluster?: boolean;
  } = {},
): Promise<System> {
  const cleanup: Array<{ name: string; run: () => Promise<unknown> }> = [];
  const onStop = (name: string, run: () => Promise<unknown>) => cleanup.push({ name, run });
  let natsDown = false;
  let server: PrivateNats | undefined;
  const stop = async () => {
    const errors: string[] = [];
    // a test that failed during an outage: services shut down gracefully only against a live server
    if (server && natsDown)
      await bounded('nats restart', server.restart).catch((err: Error) => errors.push(err.message));
    for (const step of cleanup.splice(0).reverse()) {
      await bounded(step.name, step.run).catch((err: Error) => errors.push(`${step.name}: ${err.message}`));
    }
    if (errors.length) throw new Error(`cleanup failed: ${errors.join('; ')}`);
  };
  try {
    const cluster = opts.cluster ? await startNatsCluster(3) : undefined;
    const raw: PrivateNats = cluster ? clusterAsServer(cluster) : await startNatsServer();
    server = raw;
    onStop('nats-server', () => raw.stop());
    const servers = raw.url.split(',');
    const replicas: Record<string, string> = cluster ? { NATS_REPLICAS: '3' } : {};
    const nats: PrivateNats = {
      ...raw,
      async kill() {
        natsDown = true;
        await raw.kill();
      },
      async restart() {
        await raw.restart();
        natsDown = false;
      },
    };
    const prefix = randomPrefix();
    const s = makeSubjects(prefix);
    const nc = await connectBus({ servers, name: 'e2e-observer', logger });
    onStop('observer connection', () => nc.close());
    const dialogs = await startDialogs({
      prefix,
      config: { NATS_URL: servers, OUTBOX_POLL_MS: 200, ...(cluster ? { NATS_REPLICAS: 3 } : {}) },
    });
    onStop('dialogs', () => dialogs.stop());
    const gateway = stopOnce(
      await startGateway(prefix, { NATS_URL: nats.url, ...replicas, ...opts.gatewayEnv }),
    );
    onStop('gateway', () => gateway.stop());

    const serviceEnv = {
      NATS_URL: nats.url,
      SUBJECT_PREFIX: prefix,
      // max_bytes is reserved on the server: the 10 GiB default would let only a few suites run at once
      FILES_BUCKET_MAX_BYTES: String(64 * 1024 * 1024),
      LOG_LEVEL: 'silent',
      ...replicas,
      ...opts.serviceEnv,
    };
    const system: System = {
      nats,
      ...(cluster ? { cluster } : {}),
      prefix,
      subjects: s,
      dialogs,
      gateway,
      nc,
      async socket(userId, o = {}) {
        const sock = await connectWs((o.gateway ?? gateway).url, {
          token: await mintToken(userId),
          ...(o.since === undefined ? {} : { path: `/ws/?since=${o.since}` }),
        });
        onStop(`socket of user ${userId}`, () => sock.close());
        return sock;
      },
      async startGateway(env = {}) {
        const gw = stopOnce(
          await startGateway(prefix, { NATS_URL: nats.url, ...replicas, ...opts.gatewayEnv, ...env }),
        );
        onStop('gateway', () => gw.stop());
        return gw;
      },
      async startNotifier(env = {}) {
        const c = await connectBus({ servers, name: 'e2e-notifier', logger });
        const { config } = parseConfig(notifierConfigSpec, { ...serviceEnv, ...env });
        const app = createNotifierService({ config, nc: c, logger });
        onStop('notifier', async () => {
          await app.stop();
          await c.close();
        });
        await app.start();
        return app;
      },
      spawnNotifier(env = {}) {
        const child = spawn(process.execPath, [join(root, 'services/notifier/dist/main.js')], {
          cwd: root,
          env: { PATH: process.env.PATH, ...serviceEnv, LOG_LEVEL: 'info', ...env },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        const exited = new Promise((resolve) => child.once('exit', resolve));
        onStop(`notifier process ${child.pid}`, async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
        });
        let out = '';
        child.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
        });
        const logs = () =>
          out
            .split('\n')
            .filter((line) => line.startsWith('{'))
            .map((line) => JSON.parse(line) as Record<string, unknown>);
        return { child, output: () => out, logs, exited };
      },
      async startMailer() {
        const sink = await startSmtpSink();
        onStop('smtp sink', () => sink.stop());
        const c = await connectBus({ servers, name: 'e2e-mailer', logger });
        const { config } = parseConfig(mailerConfigSpec, {
          ...serviceEnv,
          SMTP_URL: sink.url,
          APP_URL: 'https://app.example.test',
        });
        const mailer = createMailerService({ config, nc: c, logger });
        onStop('mailer', async () => {
          await mailer.stop();
          await c.close();
        });
        await mailer.start();
        return { mailer, sink };
      },
      async drained(service, timeoutMs = 20_000) {
        await waitFor(
          async () => {
            const jsm = await nc.jetstreamManager();
            // the notifier's partitions are a work queue: empty once every copy was acknowledged
            if (service === 'notifier') return (await jsm.streams.info(s.notifyStream)).state.messages === 0;
            // the mailer consumes its copies on the mail stream (the event stream has no mailer durable)
            const info =
              service === 'mailer'
                ? await jsm.consumers.info(s.mailStream, s.mailDurable)
                : await jsm.consumers.info(s.eventStream, s.durable(service));
            return info.num_pending === 0 && info.num_ack_pending === 0;
          },
          { timeoutMs, intervalMs: 100, what: `the ${service} consumer to drain` },
        );
      },
      stop,
    };
    return system;
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/** a cluster behind the single-server shape: the URL lists every node; kill/restart act on all */
function clusterAsServer(cluster: NatsCluster): PrivateNats {
  return {
    url: cluster.urls.join(','),
    port: Number(new URL(cluster.urls[0] as string).port),
    async kill() {
      await Promise.all(cluster.nodes.map((n) => n.kill()));
    },
    async restart() {
      await Promise.all(cluster.nodes.filter((n) => !n.running).map((n) => n.restart()));
      await cluster.ready();
    },
    stop: () => cluster.stop(),
  };
}

/** a gateway a test may stop itself (a restart) before the cleanup does */
function stopOnce(gw: StartedGateway): StartedGateway {
  let stopped: Promise<void> | undefined;
  return { ...gw, stop: () => (stopped ??= gw.stop()) };
}

/** a cleanup step that hangs becomes an error naming it, and the steps after it still run */
const STEP_TIMEOUT_MS = 8_000;

function bounded(name: string, step: () => Promise<unknown>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not finish in ${STEP_TIMEOUT_MS} ms`)),
      STEP_TIMEOUT_MS,
    );
    step()
      .then(resolve, reject)
      .finally(() => clearTimeout(timer));
  });
}

/** `tsc -b services/notifier` so its `dist/main.js` runs as a child process. */
export function buildNotifier(): void {
  const build = spawnSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-b', 'services/notifier'],
    { cwd: root, encoding: 'utf8' },
  );
  if (build.status !== 0) throw new Error(`tsc -b services/notifier failed:\n${build.stdout}${build.stderr}`);
}

/** The push frame of message `id` (not a direct answer). */
export const pushOf =
  (id: number) =>
  (f: Frame): boolean =>
    f.event === 'dialogs.messages.create' && f.data?.id === id && f.request_id === undefined;

/** a pushed message frame (not an answer) */
export const isPush = (f: Frame): boolean =>
  f.event === 'dialogs.messages.create' && f.request_id === undefined;

/** the highest feed seq a socket received (0: none): where it resumes with `since` */
export const seqOf = (sock: TestSocket): number =>
  Math.max(0, ...sock.frames.filter((f) => typeof f.seq === 'number').map((f) => f.seq as number));

/** who holds each notifier partition's lease key (undefined: nobody); reads only, never creates the bucket */
export async function partitionHolders(system: System): Promise<Array<string | undefined>> {
  const jsm = await system.nc.jetstreamManager();
  const bucket = system.subjects.leaseBucket('notifier');
  return Promise.all(
    Array.from({ length: NOTIFY_PARTITIONS }, async (_, p) => {
      const m = await jsm.streams
        .getMessage(kvStreamName(bucket), { last_by_subj: `$KV.${bucket}.p.${p}` })
        .catch(() => undefined);
      // a deleted key's last message is an empty tombstone
      return m && m.data.length > 0 ? m.json<{ holder: string }>().holder : undefined;
    }),
  );
}

/** the lease holder id a spawned notifier logs with */
export const instanceOf = (p: NotifierProcess) =>
  p.logs().find((l) => typeof l.instance === 'string')?.instance as string | undefined;

/** wait until the spawned notifiers hold the partitions in equal shares */
export async function partitionsShared(system: System, procs: NotifierProcess[]): Promise<void> {
  let seen = '';
  try {
    await waitFor(
      async () => {
        const h = await partitionHolders(system);
        const ids = procs.map(instanceOf);
        seen = JSON.stringify({ instances: ids, holders: h });
        return ids.every((id) => id && h.filter((x) => x === id).length === NOTIFY_PARTITIONS / procs.length);
      },
      // two fresh processes under a loaded CI machine: start-up, 16 consumers taken, 8 given back and
      // taken by the other (one CI run out of several needed more than 20 s)
      { timeoutMs: 40_000, what: 'the partitions shared equally' },
    );
  } catch (err) {
    // what the instances and the lease keys said last: the only clue to a stuck share-out
    const tails = procs.map((p) => p.output().split('\n').slice(-15).join('\n')).join('\n----\n');
    const server = system.nats.describe?.() ?? '';
    throw new Error(
      `${(err as Error).message}; last seen ${seen}; their last lines:\n${tails}\n----\n${server}`,
    );
  }
}

/** `dialogs.messages.create` from `socket`: answered without an exception; the new message's id */
export async function sendMessage(socket: TestSocket, dialogId: number, body: string): Promise<number> {
  const answer = await socket.request(
    { event: 'dialogs.messages.create', dialog_id: dialogId, body },
    10_000,
  );
  expect(answer.exception).toBeUndefined();
  return answer.data.id as number;
}
