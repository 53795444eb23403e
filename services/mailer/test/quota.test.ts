/**
 * MAIL_MAX_PER_RECIPIENT_PER_HOUR on the real NATS JetStream and the SMTP sink, with a small cap and a
 * shortened window: one student hammering support does not flood their inboxes, and nothing over the
 * cap is dropped — it arrives as one digest once the window allows, even across a mailer restart.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { connectBus, type NatsConnection, openJsonKv, publishEvent } from '@parley/bus';
import { subjects } from '@parley/protocol';
import {
  natsUrl,
  randomPrefix,
  type SinkMessage,
  type SmtpSink,
  startSmtpSink,
  waitFor,
} from '@parley/testing';
import type { QuotaRecord } from '../src/records.js';
import { created, drained, dropAll, logger, mailers, message, recipient, seen } from './helpers.js';

let nc: NatsConnection;
let sink: SmtpSink;
const prefix = randomPrefix();
const s = subjects(prefix);
const m = mailers(prefix);
const prefix2 = randomPrefix();
const s2 = subjects(prefix2);
const m2 = mailers(prefix2);

beforeAll(async () => {
  nc = await connectBus({ servers: [await natsUrl()], name: 'mailer-quota-test', logger });
  sink = await startSmtpSink();
});

afterAll(async () => {
  await m.stopAll();
  await m2.stopAll();
  await dropAll(nc, s);
  await dropAll(nc, s2);
  await sink.stop();
  await nc.close();
});

const numbers = (mail: SinkMessage) =>
  [...(mail.parsed.text ?? '').matchAll(/^message (\d+)$/gm)].map((x) => Number(x[1]));

test('a student hammering support: each support user gets the cap, then every held message in one digest — after a restart too', async () => {
  const CAP = 3;
  const env = {
    SMTP_URL: sink.url,
    MAIL_MAX_PER_RECIPIENT_PER_HOUR: String(CAP),
    APP_URL: 'https://app.test',
  };
  const WINDOW_MS = 8_000;
  const first = await m.start(env, { rateWindowMs: WINDOW_MS });
  const STUDENT = 1;
  const SUPPORT = [2, 3];
  // eight messages in two team dialogs, each to the student (the author) and both support users
  const ids = Array.from({ length: 8 }, (_, i) => 1101 + i);
  for (const id of ids) {
    const dialog = id % 2 ? 40 : 41;
    await publishEvent(
      nc,
      s,
      created(
        message(id, dialog, STUDENT),
        [STUDENT, ...SUPPORT].map((u) => recipient(u, { role: u === STUDENT ? 'student' : 'support' })),
      ),
    );
  }

  // the surplus is held: per support user one digest led by the first message refused a slot
  const kv = await openJsonKv<QuotaRecord>(nc, s.mailBucket);
  for (const u of SUPPORT) {
    await waitFor(async () => (await kv.get(`q.${u}`))?.value.digest?.items.length === ids.length - CAP, {
      timeoutMs: 20_000,
      what: `the digest of user ${u} to hold ${ids.length - CAP} messages`,
    });
  }
  // before the window has passed, nobody got more than the cap
  for (const u of SUPPORT) {
    expect(sink.messages.filter((x) => x.envelope.to[0] === `u${u}@example.test`).length).toBeLessThanOrEqual(
      CAP,
    );
  }

  // a graceful restart while the digests are held: they are in the stream and in KV, not in memory
  await m.stop(first);
  await m.start(env, { rateWindowMs: WINDOW_MS });

  await sink.waitForCount(SUPPORT.length * (CAP + 1), 60_000);
  await drained(nc, s, 30_000);
  expect(sink.messages).toHaveLength(SUPPORT.length * (CAP + 1));
  for (const u of SUPPORT) {
    const inbox = sink.messages.filter((x) => x.envelope.to[0] === `u${u}@example.test`);
    // every message exactly once, across the single e-mails and the digest
    expect(inbox.flatMap(numbers).sort((a, b) => a - b)).toEqual(ids);
    const singles = inbox.filter((x) => numbers(x).length === 1);
    expect(singles).toHaveLength(CAP);
    for (const one of singles)
      expect(one.parsed.messageId).toBe(`<parley.m${numbers(one)[0]}.u${u}@localhost>`);
    const digest = inbox.find((x) => numbers(x).length > 1) as SinkMessage;
    expect(numbers(digest)).toHaveLength(ids.length - CAP);
    expect(digest.parsed.subject).toBe(`Новые сообщения (${ids.length - CAP}) от First1 Last1`);
    // led by one of its messages, so its Message-ID is as stable as any other
    expect(numbers(digest).map((n) => `<parley.m${n}.u${u}@localhost>`)).toContain(digest.parsed.messageId);
    // messages of two dialogs: each has its own answer link
    expect(digest.parsed.html).toContain('href="https://app.test/dialogs/40"');
    expect(digest.parsed.html).toContain('href="https://app.test/dialogs/41"');
  }
  // the student is the author of all of it and gets nothing
  expect(sink.messages.some((x) => x.envelope.to[0] === 'u1@example.test')).toBe(false);
}, 120_000);

test('a held digest whose messages were all read is not sent, and does not swallow the messages after it', async () => {
  sink.messages.length = 0;
  await m2.start(
    { SMTP_URL: sink.url, MAIL_MAX_PER_RECIPIENT_PER_HOUR: '1', MAIL_DELAY_SECONDS: '1' },
    { rateWindowMs: 5_000 },
  );
  const kv = await openJsonKv<{ state: string }>(nc, s2.mailBucket);
  await publishEvent(nc, s2, created(message(1201, 50, 1), [recipient(2)]));
  await sink.waitForCount(1, 20_000);
  // over the cap of one: held as the digest's leader, then read before a slot frees
  const held = message(1202, 51, 1);
  await publishEvent(nc, s2, created(held, [recipient(2)]));
  await waitFor(async () => (await kv.get('d.1202.2'))?.value.state === 'held', {
    timeoutMs: 20_000,
    what: 'the second e-mail to be held by the cap',
  });
  await publishEvent(nc, s2, seen(held, 2));
  await waitFor(async () => (await kv.get('d.1202.2'))?.value.state === 'skipped', {
    timeoutMs: 30_000,
    what: 'the read digest to be skipped',
  });
  // a later message is mailed: it does not join a digest nobody will send
  await publishEvent(nc, s2, created(message(1203, 52, 1), [recipient(2)]));
  await sink.waitForCount(2, 30_000);
  await drained(nc, s2, 30_000);
  expect(sink.messages.map((x) => x.parsed.messageId)).toEqual([
    '<parley.m1201.u2@localhost>',
    '<parley.m1203.u2@localhost>',
  ]);
}, 90_000);
