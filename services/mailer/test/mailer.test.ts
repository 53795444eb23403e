/** The mailer on the real NATS JetStream with the in-process SMTP sink; events published as dialogs does. */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import {
  connectBus,
  encode,
  ensureDurable,
  ensureEventStream,
  isJsNotFound,
  type NatsConnection,
  openJsonKv,
  publishEvent,
} from '@parley/bus';
import { subjects, verifyUnsubscribeToken } from '@parley/protocol';
import { natsUrl, randomPrefix, type SmtpSink, startSmtpSink, waitFor } from '@parley/testing';
import { DomUtils, parseDocument } from 'htmlparser2';
import { created, drained, dropAll, logger, mailers, message, recipient, seen } from './helpers.js';

const UNSUBSCRIBE_SECRET = 'mailer-test-secret-0123456789abcdef';

let nc: NatsConnection;
let sink: SmtpSink;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  nc = await connectBus({ servers: [await natsUrl()], name: 'mailer-test', logger });
  sink = await startSmtpSink();
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  sink.messages.length = 0;
});

afterAll(async () => {
  await sink.stop();
  await nc.close();
});

function setup() {
  const prefix = randomPrefix();
  const s = subjects(prefix);
  const m = mailers(prefix);
  cleanups.push(async () => {
    await m.stopAll();
    await dropAll(nc, s);
  });
  return { s, m };
}

describe('mailer', () => {
  test('one e-mail to each member who wants it: not the author, not notifications off, not inactive, not without address', async () => {
    const { s, m } = setup();
    await m.start({
      SMTP_URL: sink.url,
      APP_URL: 'https://learn.example.test',
      PUBLIC_URL: 'https://api.example.test/',
      JWT_SECRET: UNSUBSCRIBE_SECRET,
      MAIL_FROM: 'Parley <noreply@parley.test>',
    });
    const msg = message(501, 7, 1, '<p>Hello <strong>there</strong></p>');
    await publishEvent(
      nc,
      s,
      created(msg, [
        recipient(1),
        recipient(2),
        recipient(3, { email_notifications: false }),
        recipient(4, { is_active: false }),
        recipient(5, { email: '' }),
      ]),
    );
    await sink.waitForCount(1);
    await drained(nc, s);
    expect(sink.messages).toHaveLength(1);
    const mail = sink.messages[0];
    expect(mail?.envelope.to).toEqual(['u2@example.test']);
    expect(mail?.parsed.subject).toBe('Новое сообщение от First1 Last1');
    expect(mail?.parsed.html).toContain('Hello <strong>there</strong>');
    expect(mail?.parsed.html).toContain('https://learn.example.test/dialogs/7');
    expect(mail?.parsed.text).toContain('message 501');
    expect(mail?.parsed.text).toContain('https://learn.example.test/dialogs/7');
    expect(mail?.parsed.messageId).toBe('<parley.m501.u2@parley.test>');
    expect(mail?.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r?$/m);
    // the one-click link on the gateway, signed for this recipient; also in both footers
    // (a long header is folded: unfold it as RFC 5322 says)
    const headers = (mail?.raw ?? '').replace(/\r?\n(?=[ \t])/g, '');
    const link =
      /^List-Unsubscribe: *<(https:\/\/api\.example\.test\/api\/unsubscribe\/2\/([A-Za-z0-9_-]+))>\r?$/m.exec(
        headers,
      );
    expect(link).not.toBeNull();
    const [, url, token] = link as RegExpExecArray;
    expect(verifyUnsubscribeToken(UNSUBSCRIBE_SECRET, 2, token as string)).toBe(true);
    expect(verifyUnsubscribeToken(UNSUBSCRIBE_SECRET, 1, token as string)).toBe(false);
    expect(mail?.parsed.html).toContain(`href="${url}"`);
    expect(mail?.parsed.text).toContain(url);
  });

  test('events with nobody to mail cost no KV work: only the e-mail that goes leaves records', async () => {
    const { s, m } = setup();
    await m.start({ SMTP_URL: sink.url });
    // the author alone, notifications off, inactive, no address: nobody to mail
    await publishEvent(
      nc,
      s,
      created(message(520, 12, 1), [
        recipient(1),
        recipient(3, { email_notifications: false }),
        recipient(4, { is_active: false }),
        recipient(5, { email: ' ' }),
      ]),
    );
    await publishEvent(nc, s, seen(message(520, 12, 1), 3));
    await publishEvent(nc, s, created(message(521, 12, 1), [recipient(1), recipient(2)]));
    await sink.waitForCount(1);
    await drained(nc, s);
    const kv = await openJsonKv<unknown>(nc, s.mailBucket);
    const keys: string[] = [];
    for await (const k of await kv.raw.keys()) keys.push(k);
    expect(keys.sort()).toEqual(['d.521.2', 'q.2']);
    expect(sink.messages.map((x) => x.parsed.messageId)).toEqual(['<parley.m521.u2@localhost>']);
  });

  test('a hostile message body never brings a script into the HTML', async () => {
    const { s, m } = setup();
    await m.start({ SMTP_URL: sink.url });
    const hostile =
      '<p>hi</p><script>alert(1)</script><img src=x onerror="alert(2)"><a href="javascript:alert(3)">x</a>';
    await publishEvent(nc, s, created(message(502, 8, 1, hostile), [recipient(2)]));
    const [mail] = await sink.waitForCount(1);
    const raw = mail?.raw ?? '';
    expect(mail?.parsed.html).toBeTruthy();
    for (const bad of [/<script/i, /onerror/i, /javascript:/i])
      expect(String(mail?.parsed.html)).not.toMatch(bad);
    expect(raw).not.toMatch(/<script/i);
  });

  test('no remote image in the HTML part: an <img> from the message becomes a link with its alt text or URL', async () => {
    const { s, m } = setup();
    await m.start({ SMTP_URL: sink.url });
    // as dialogs renders `![the chart](https://tracker.example/p.gif?u=42) and ![](http://img.example/photo.png)`
    const body =
      '<p>Look <img src="https://tracker.example/p.gif?u=42&amp;r=1" alt="the chart"> and <img src="http://img.example/photo.png" alt=""></p>';
    await publishEvent(nc, s, created(message(503, 8, 1, body), [recipient(2)]));
    const [mail] = await sink.waitForCount(1);
    const doc = parseDocument(String(mail?.parsed.html));
    const elements = DomUtils.findAll(() => true, doc.children);
    expect(elements.filter((e) => ['img', 'image', 'picture', 'source'].includes(e.name))).toEqual([]);
    // nothing in the e-mail points at the images except the two links
    const loaders = elements.filter((e) =>
      Object.entries(e.attribs).some(([k, v]) => k !== 'href' && /tracker\.example|img\.example/.test(v)),
    );
    expect(loaders).toEqual([]);
    const links = elements
      .filter((e) => e.name === 'a' && /tracker\.example|img\.example/.test(e.attribs.href ?? ''))
      .map((a) => ({ href: a.attribs.href, text: DomUtils.textContent(a) }));
    expect(links).toEqual([
      { href: 'https://tracker.example/p.gif?u=42&r=1', text: 'the chart' },
      { href: 'http://img.example/photo.png', text: 'http://img.example/photo.png' },
    ]);
    // the rest of the message is still there
    expect(DomUtils.textContent(doc)).toContain('Look the chart and http://img.example/photo.png');
  });

  test('the same event delivered again and two mailer instances: every e-mail exactly once', async () => {
    const { s, m } = setup();
    await m.start({ SMTP_URL: sink.url });
    await m.start({ SMTP_URL: sink.url });
    const events = Array.from({ length: 10 }, (_, i) =>
      created(message(600 + i, 9, 1), [recipient(2), recipient(3)]),
    );
    for (const e of events) await publishEvent(nc, s, e);
    // a relay retry after the dedupe window: the same event id again, stored as a new stream message
    const jsm = await nc.jetstreamManager();
    await nc
      .jetstream()
      .publish(s.event('message.created'), new TextEncoder().encode(JSON.stringify(events[0])));
    void jsm;
    await sink.waitForCount(20);
    await drained(nc, s);
    expect(sink.messages).toHaveLength(20);
    const ids = new Set(sink.messages.map((x) => x.parsed.messageId));
    expect(ids.size).toBe(20);
  });

  test('SMTP server down for a while, then up: every e-mail arrives exactly once', async () => {
    const { s, m } = setup();
    const app = await m.start({ SMTP_URL: sink.url });
    await sink.stop();
    for (let i = 0; i < 3; i++)
      await publishEvent(nc, s, created(message(700 + i, 10 + i, 1), [recipient(2)]));
    await waitFor(
      async () =>
        ((await app.metrics.emails.get()).values.find((v) => v.labels.result === 'failed')?.value ?? 0) >= 3,
      {
        timeoutMs: 10_000,
        what: 'three failed attempts',
      },
    );
    await sink.start();
    await sink.waitForCount(3, 20_000);
    await drained(nc, s, 20_000);
    expect(sink.messages.map((x) => x.parsed.messageId).sort()).toEqual([
      '<parley.m700.u2@localhost>',
      '<parley.m701.u2@localhost>',
      '<parley.m702.u2@localhost>',
    ]);
  }, 60_000);

  test('MAIL_DELAY_SECONDS: a message read within the delay is not mailed; three messages of a dialog go as one e-mail', async () => {
    const { s, m } = setup();
    await m.start({ SMTP_URL: sink.url, MAIL_DELAY_SECONDS: '2' });
    const readSoon = message(801, 20, 1);
    await publishEvent(nc, s, created(readSoon, [recipient(2)]));
    await publishEvent(nc, s, seen(readSoon, 2));
    for (let i = 0; i < 3; i++) await publishEvent(nc, s, created(message(810 + i, 21, 1), [recipient(3)]));
    await sink.waitForCount(1, 10_000);
    await drained(nc, s);
    expect(sink.messages).toHaveLength(1);
    const mail = sink.messages[0];
    expect(mail?.envelope.to).toEqual(['u3@example.test']);
    expect(mail?.parsed.subject).toBe('Новые сообщения (3) от First1 Last1');
    for (const id of [810, 811, 812]) expect(mail?.parsed.text).toContain(`message ${id}`);
    const kv = await openJsonKv<{ state: string }>(nc, s.mailBucket);
    expect((await kv.get('d.801.2'))?.value.state).toBe('skipped');
    expect((await kv.get('d.811.3'))?.value.state).toBe('batched');
  }, 30_000);

  test('without SMTP_URL the e-mail is an .eml file in MAIL_OUTBOX_DIR, in English with MESSAGES_LOCALE=en', async () => {
    const { s, m } = setup();
    const dir = mkdtempSync(join(tmpdir(), 'parley-outbox-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    await m.start({
      MAIL_OUTBOX_DIR: dir,
      MESSAGES_LOCALE: 'en',
      MAIL_UNSUBSCRIBE_URL: 'https://learn.example.test/unsubscribe?u={user_id}',
    });
    await publishEvent(nc, s, created(message(901, 30, 1), [recipient(2)]));
    const files = await waitFor(() => {
      const f = readdirSync(dir).filter((n) => n.endsWith('.eml'));
      return f.length ? f : undefined;
    });
    expect(files).toEqual(['_parley.m901.u2_localhost_.eml']);
    const eml = readFileSync(join(dir, files[0] as string), 'utf8');
    expect(eml).toContain('Subject: New message from First1 Last1');
    expect(eml).toContain('To: First2 Last2 <u2@example.test>');
    // MAIL_UNSUBSCRIBE_URL overrides the signed gateway link
    expect(eml).toMatch(/^List-Unsubscribe: <https:\/\/learn\.example\.test\/unsubscribe\?u=2>\r?$/m);
  });
});

/**
 * Upgrading to the mail stream (decisions §28): a mailer before it consumed the event stream through
 * `<prefix>_mailer`. What that durable still holds — events a dialogs without mail copies published,
 * e-mails held by MAIL_DELAY_SECONDS — is mailed once by the new mailer, and the durable is then
 * deleted; without one, the new mailer creates none on the event stream.
 */
describe("an earlier mailer's durable on the event stream", () => {
  const legacyGone = async (s: ReturnType<typeof subjects>) => {
    const jsm = await nc.jetstreamManager();
    return jsm.consumers.info(s.eventStream, s.durable('mailer')).then(
      () => false,
      (err: unknown) => {
        if (isJsNotFound(err)) return true;
        throw err;
      },
    );
  };

  test("what the earlier mailer's durable holds is mailed once, then the durable is deleted", async () => {
    const { s, m } = setup();
    await ensureEventStream(nc, s);
    await ensureDurable(nc, s, s.durable('mailer'), { ackWaitMs: 10_000, maxDeliver: 40 });
    // published as a dialogs before the mail stream did: the domain event only, no copy
    const old = [
      created(message(9001, 90, 1), [recipient(2)]),
      created(message(9002, 91, 1), [recipient(3)]),
    ];
    const js = nc.jetstream();
    for (const e of old) await js.publish(s.event(e.type), encode(e), { msgID: e.id });
    // and one from the upgraded dialogs: its copy too, and the durable gets it as well
    await publishEvent(nc, s, created(message(9003, 92, 1), [recipient(4)]));

    // the event with a copy is handled twice at once: the second waits out the first's lease (the ack wait)
    await m.start({ SMTP_URL: sink.url, EVENT_ACK_WAIT_SECONDS: '2' });
    await sink.waitForCount(3, 15_000);
    await waitFor(() => legacyGone(s), { timeoutMs: 15_000, what: 'the earlier durable to be deleted' });
    await drained(nc, s);
    const ids = sink.messages.map((x) => x.parsed.messageId?.replace(/@.*/, '')).sort();
    expect(ids).toEqual(['<parley.m9001.u2', '<parley.m9002.u3', '<parley.m9003.u4']);
  });

  test('without an earlier durable the mailer consumes its stream only and creates none on the event stream', async () => {
    const { s, m } = setup();
    await m.start({ SMTP_URL: sink.url });
    await publishEvent(nc, s, created(message(9101, 93, 1), [recipient(2)]));
    await sink.waitForCount(1, 15_000);
    await drained(nc, s);
    expect(await legacyGone(s)).toBe(true);
    const jsm = await nc.jetstreamManager();
    expect((await jsm.consumers.list(s.eventStream).next()).length).toBe(0);
  });
});
