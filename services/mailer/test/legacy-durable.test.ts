/**
 * Upgrading to the mail stream (decisions §28): a mailer before it consumed the event stream through
 * `<prefix>_mailer`. What that durable still holds — events a dialogs without mail copies published,
 * e-mails held by MAIL_DELAY_SECONDS — is mailed once by the new mailer, and the durable is then
 * deleted; without one, the new mailer creates none on the event stream.
 */
import { afterAll, afterEach, beforeAll, expect, test } from '@jest/globals';
import {
  connectBus,
  encode,
  ensureDurable,
  ensureEventStream,
  isJsNotFound,
  type NatsConnection,
  publishEvent,
} from '@parley/bus';
import { subjects } from '@parley/protocol';
import { natsUrl, randomPrefix, type SmtpSink, startSmtpSink, waitFor } from '@parley/testing';
import { created, drained, dropAll, logger, mailers, message, recipient } from './helpers.js';

let nc: NatsConnection;
let sink: SmtpSink;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  nc = await connectBus({ servers: [await natsUrl()], name: 'mailer-legacy-test', logger });
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
  const old = [created(message(9001, 90, 1), [recipient(2)]), created(message(9002, 91, 1), [recipient(3)])];
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
