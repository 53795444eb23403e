/**
 * End to end on the real servers: dialogs (MariaDB + outbox relay), the gateway with real sockets, the
 * notifier and the mailer (SMTP sink) on one subject prefix.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { connectBus, type NatsConnection } from '@parley/bus';
import { parseConfig } from '@parley/config';
import { silentLogger } from '@parley/logger';
import { subjects } from '@parley/protocol';
import { connectWs, natsUrl, type SmtpSink, startSmtpSink, type TestSocket } from '@parley/testing';
import { createDialog, createUser } from '../../dialogs/test/harness.js';
import {
  type Backend,
  mintToken,
  type StartedGateway,
  startBackend,
  startGateway,
} from '../../gateway/test/helpers.js';
import { createMailerService, type MailerService } from '../../mailer/src/app.js';
import { mailerConfigSpec } from '../../mailer/src/config.js';
import { drained } from '../../mailer/test/helpers.js';
import { createNotifierService, type NotifierService } from '../src/app.js';
import { notifierConfigSpec } from '../src/config.js';

const logger = silentLogger();
let backend: Backend;
let gw: StartedGateway;
let nc: NatsConnection;
let notifier: NotifierService;
let mailer: MailerService;
let sink: SmtpSink;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  backend = await startBackend();
  gw = await startGateway(backend.prefix);
  sink = await startSmtpSink();
  nc = await connectBus({ servers: [await natsUrl()], name: 'e2e', logger });
  const base = { NATS_URL: await natsUrl(), SUBJECT_PREFIX: backend.prefix };
  notifier = createNotifierService({ config: parseConfig(notifierConfigSpec, base).config, nc, logger });
  mailer = createMailerService({
    config: parseConfig(mailerConfigSpec, {
      ...base,
      SMTP_URL: sink.url,
      APP_URL: 'https://app.example.test',
    }).config,
    nc,
    logger,
  });
  await notifier.start();
  await mailer.start();
}, 60_000);

afterAll(async () => {
  for (const s of sockets) await s.close().catch(() => undefined);
  await notifier?.stop();
  await mailer?.stop();
  await gw?.stop();
  await backend?.stop();
  if (!backend) return;
  const s = subjects(backend.prefix);
  const jsm = await nc.jetstreamManager();
  for (const name of [s.eventStream, `KV_${s.mailBucket}`, `KV_${s.leaseBucket('notifier')}`]) {
    await jsm.streams.delete(name).catch(() => undefined);
  }
  await nc.close();
  await sink.stop();
});

async function socket(userId: number): Promise<TestSocket> {
  const s = await connectWs(gw.url, { token: await mintToken(userId) });
  sockets.push(s);
  return s;
}

test('a created message: frames to every other socket in order, an e-mail to the member who wants one', async () => {
  const { rpc } = backend.dialogs;
  await createUser(rpc, 1, { email: 'user1@example.com', first_name: 'Anna', last_name: 'Petrova' });
  await createUser(rpc, 2, { email: 'user2@example.com' });
  await createUser(rpc, 3, { email: 'user3@example.com', email_notifications: false });
  const dialog = await createDialog(rpc, [1, 2, 3]);
  const [a1, a2, b1, b2] = [await socket(1), await socket(1), await socket(2), await socket(2)];

  const answer = await (a1 as TestSocket).request({
    event: 'dialogs.messages.create',
    dialog_id: dialog.id,
    body: '**hi** <script>alert(1)</script>',
  });
  expect(answer.exception).toBeUndefined();
  const id = answer.data.id as number;
  const isMsg = (f: Record<string, unknown>) =>
    f.event === 'dialogs.messages.create' &&
    (f.data as { id?: number }).id === id &&
    f.request_id === undefined;

  for (const tab of [b1, b2] as TestSocket[]) {
    await tab.next(
      (f) => f.event === 'notifications.dialogs.messages.count' && f.data.dialog_id === dialog.id,
      {
        timeoutMs: 10_000,
      },
    );
    const at = tab.frames.findIndex(isMsg);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(tab.frames.slice(at, at + 3).map((f) => f.event)).toEqual([
      'dialogs.messages.create',
      'notifications.dialogs.count',
      'notifications.dialogs.messages.count',
    ]);
    expect(tab.frames[at + 1]?.data).toBe(1);
    expect(tab.frames[at + 2]?.data).toEqual({ count: 1, dialog_id: dialog.id });
  }
  await (a2 as TestSocket).next(isMsg, { timeoutMs: 10_000 });

  const [mail] = await sink.waitForCount(1, 10_000);
  await drained(nc, subjects(backend.prefix));
  expect(sink.messages).toHaveLength(1);
  expect(mail?.envelope.to).toEqual(['user2@example.com']);
  expect(mail?.parsed.subject).toBe('Новое сообщение от Anna Petrova');
  expect(mail?.parsed.html).toContain('<strong>hi</strong>');
  expect(String(mail?.parsed.html)).not.toMatch(/<script/i);

  expect((a2 as TestSocket).where(isMsg)).toHaveLength(1);
  expect((a1 as TestSocket).where((f) => f.event === 'dialogs.messages.create')).toHaveLength(1); // its answer only
  expect((a1 as TestSocket).where(isMsg)).toHaveLength(0);
}, 60_000);
