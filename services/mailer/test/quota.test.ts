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
import { created, drained, dropAll, logger, mailers, message, recipient } from './helpers.js';

let nc: NatsConnection;
let sink: SmtpSink;
const prefix = randomPrefix();
const s = subjects(prefix);
const m = mailers(prefix);

beforeAll(async () => {
  nc = await connectBus({ servers: [await natsUrl()], name: 'mailer-quota-test', logger });
  sink = await startSmtpSink();
});

afterAll(async () => {
  await m.stopAll();
  await dropAll(nc, s);
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
