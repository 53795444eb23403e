/**
 * `npm run test:chaos` (not part of `npm test`: about two minutes): the whole system as processes —
 * a private nats-server (file store), dialogs, two notifiers sharing the user partitions, the mailer
 * (to an SMTP sink), two gateways (e2e/processes.ts) — and a steady stream of messages while each of
 * them (one of the notifiers) is SIGKILLed and restarted in turn.
 * The sender retries each message with its `client_id` until it is answered; each receiver is a
 * client that reconnects (to whichever gateway answers) with `?since=` its last seq. Printed: what
 * was stored, what each receiver lost and got twice, the e-mails missing and repeated, and whether
 * each receiver's last counter frames equal the truth. PROTOCOL.md §6 and §8 say: all stored once,
 * nothing lost or doubled on a socket, no e-mail missing (a repeat only for a kill mid-transaction,
 * with the same Message-ID), counters true.
 */
import { afterAll, expect, test } from '@jest/globals';
import {
  createTestDatabase,
  freePort,
  type PrivateNats,
  randomPrefix,
  type SmtpSink,
  sleep,
  startNatsServer,
  startSmtpSink,
  type TestDatabase,
  waitFor,
} from '@parley/testing';
import { ADMIN_TOKEN, JWT_SECRET } from '../services/gateway/test/helpers.js';
import {
  admin,
  awaitDeliveries,
  buildServices,
  countersTrue,
  resilientReceiver,
  type ServiceProcess,
  service,
  steadySender,
  stopAll,
  truthOf,
} from './processes.js';

const STREAM_MS = 40_000;
const KILL_EVERY_MS = 5_000;

interface Victim {
  name: string;
  start(): void;
  kill(): Promise<void>;
}

let nats: PrivateNats | undefined;
let db: TestDatabase | undefined;
let sink: SmtpSink | undefined;

afterAll(async () => {
  await stopAll();
  await nats?.stop();
  await db?.drop();
  await sink?.stop();
}, 30_000);

test('a steady stream while every service and nats-server are killed in turn: nothing lost, nothing doubled', async () => {
  buildServices();
  nats = await startNatsServer();
  db = await createTestDatabase();
  sink = await startSmtpSink();
  const prefix = randomPrefix();
  const common = {
    NATS_URL: nats.url,
    SUBJECT_PREFIX: prefix,
    FILES_BUCKET_MAX_BYTES: String(64 * 1024 * 1024),
  };
  const ports = [await freePort(), await freePort()];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const gateways = ports.map((port, i) =>
    service(`gateway-${i + 1}`, 'services/gateway/dist/main.js', {
      ...common,
      PORT: String(port),
      JWT_SECRET,
      ADMIN_TOKEN,
      RATE_LIMIT_PER_SEC: '1000',
      RATE_LIMIT_BURST: '1000',
      REQUEST_TIMEOUT_MS: '2000',
    }),
  );
  const dialogs = service('dialogs', 'services/dialogs/dist/main.js', {
    ...common,
    MYSQL_URL: db.url,
    OUTBOX_POLL_MS: '200',
  });
  // two notifiers sharing the user partitions (active-active); one of them is a victim
  const [notifier, otherNotifier] = [1, 2].map((i) =>
    service(`notifier-${i}`, 'services/notifier/dist/main.js', { ...common, LEADER_LEASE_SECONDS: '1' }),
  ) as [ServiceProcess, ServiceProcess];
  const mailer = service('mailer', 'services/mailer/dist/main.js', {
    ...common,
    JWT_SECRET,
    SMTP_URL: sink.url,
    MAIL_FROM: 'Parley <noreply@chaos.test>',
    // every message of the stream is mailed: no hourly cap folding them into digests
    MAIL_MAX_PER_RECIPIENT_PER_HOUR: '0',
  });
  const natsService: Victim = {
    name: 'nats-server',
    start: () => void nats?.restart(),
    kill: async () => nats?.kill(),
  };
  for (const s of [dialogs, notifier, otherNotifier, mailer, ...gateways]) s.start();
  await waitFor(
    async () => {
      const r = await fetch(`${urls[0]}/readyz`).catch(() => undefined);
      return r?.status === 200;
    },
    { timeoutMs: 60_000, intervalMs: 250, what: 'the system to be ready' },
  );
  await admin(urls[0] as string, 'PUT', '/api/admin/users/1', { email: 'a@example.com' });
  await admin(urls[0] as string, 'PUT', '/api/admin/users/2', {
    email: 'b@example.com',
    email_notifications: true,
  });
  const dialog = (await admin(urls[0] as string, 'POST', '/api/admin/dialogs', { users: [1, 2] })) as {
    id: number;
  };

  const receivers = [resilientReceiver(2, urls), resilientReceiver(2, [...urls].reverse())];
  const sender = steadySender({ urls, userId: 1, dialogId: dialog.id, paceMs: 50 });
  const { sent } = sender;

  const victims: Victim[] = [
    gateways[0] as Victim,
    dialogs,
    notifier,
    mailer,
    natsService,
    gateways[1] as Victim,
  ];
  let mailerKills = 0;
  const started = Date.now();
  for (let k = 0; Date.now() - started < STREAM_MS; k++) {
    await sleep(KILL_EVERY_MS);
    const v = victims[k % victims.length] as Victim;
    if (v === mailer) mailerKills++;
    await v.kill();
    await sleep(500);
    v.start();
  }
  await sender.stop();
  // every message mailed to user 2, whatever the mailer went through
  const mailIds = () => sink!.messages.map((m) => m.parsed.messageId ?? '');
  const idOf = (messageId: number) => `<parley.m${messageId}.u2@chaos.test>`;
  await awaitDeliveries({ receivers, sent, mailIds, idOf });
  // what dialogs stored, and the counters as dialogs answers them now
  const truth = await truthOf(urls[0] as string, 2, dialog.id);
  await sleep(1_000);
  for (const r of receivers) await r.stop();

  const mails = mailIds();
  const report = {
    sent: sent.length,
    stored: truth.total,
    stored_ids_equal: JSON.stringify(truth.stored) === JSON.stringify(sent),
    mailer_kills: mailerKills,
    emails_missing: sent.filter((id) => !mails.includes(idOf(id))).length,
    emails_repeated: mails.length - new Set(mails).size,
    receivers: receivers.map((r, i) => {
      const got = new Set(r.ids);
      return {
        receiver: i + 1,
        received: r.ids.length,
        lost: sent.filter((id) => !got.has(id)).length,
        duplicated: r.ids.length - got.size,
        resyncs: r.resyncs(),
        counters_true: countersTrue(r, truth),
      };
    }),
  };
  console.log(`chaos: ${JSON.stringify(report)}`);
  expect(report.stored).toBe(report.sent);
  expect(truth.stored).toEqual(sent);
  expect(report.emails_missing).toBe(0);
  // a repeat only for a kill in the middle of an SMTP transaction, with the first's Message-ID
  expect(report.emails_repeated).toBeLessThanOrEqual(report.mailer_kills);
  for (const r of report.receivers) {
    expect(r.lost).toBe(0);
    expect(r.duplicated).toBe(0);
    expect(r.counters_true).toBe(true);
  }
}, 300_000);
