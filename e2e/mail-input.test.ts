/**
 * The mailer receives only what it mails (decisions §28), on the real servers: dialogs writes the
 * messages and relays them, the mailer consumes its stream and mails through an SMTP sink. Messages of
 * a dialog where nobody is mailable never reach the mailer (its stream and its consumer count none);
 * the message with a mailable recipient is mailed exactly once.
 */
import { afterEach, expect, test } from '@jest/globals';
import { sleep } from '@parley/testing';
import { createDialog, createUser } from '../services/dialogs/test/harness.js';
import { type System, sendMessage, startSystem } from './system.js';

/** after the mailer drained, how long a second e-mail would still need to reach the sink */
const SETTLE_MS = 500;

let sys: System | undefined;

afterEach(async () => {
  await sys?.stop();
  sys = undefined;
}, 120_000);

test('messages nobody can be mailed never reach the mailer; a mailable one is mailed once', async () => {
  sys = await startSystem();
  const { sink } = await sys.startMailer();
  const { rpc } = sys.dialogs;
  // dialog 1: nobody to mail (one wants no e-mail, one is deactivated); dialog 2: user 4 is mailable
  await createUser(rpc, 1, { email_notifications: false });
  await createUser(rpc, 2, { email_notifications: false });
  await createUser(rpc, 5);
  await createUser(rpc, 3, { email_notifications: false });
  await createUser(rpc, 4);
  const quiet = await createDialog(rpc, [1, 2, 5]);
  await createUser(rpc, 5, { is_active: false });
  const mailed = await createDialog(rpc, [3, 4]);
  const [one, three] = [await sys.socket(1), await sys.socket(3)];

  for (let i = 0; i < 5; i++) await sendMessage(one, quiet.id, `nobody mails this ${i}`);
  const id = await sendMessage(three, mailed.id, 'user 4 gets this');
  for (let i = 5; i < 10; i++) await sendMessage(one, quiet.id, `nobody mails this ${i}`);

  await sink.waitForCount(1, 15_000);
  await sys.drained('mailer');
  await sleep(SETTLE_MS);
  const jsm = await sys.nc.jetstreamManager();
  // every message went out on the event stream (the relay is past them all)
  expect((await jsm.streams.info(sys.subjects.eventStream)).state.messages).toBe(11);
  // the mailer's stream stored one copy, and its consumer delivered one event, once
  expect((await jsm.streams.info(sys.subjects.mailStream)).state).toMatchObject({ messages: 0, last_seq: 1 });
  const consumer = await jsm.consumers.info(sys.subjects.mailStream, sys.subjects.mailDurable);
  expect({ delivered: consumer.delivered.consumer_seq, acked: consumer.ack_floor.consumer_seq }).toEqual({
    delivered: 1,
    acked: 1,
  });
  expect(sink.messages.map((m) => m.envelope.to)).toEqual([['user4@example.com']]);
  expect(sink.messages[0]?.parsed.messageId).toMatch(new RegExp(`^<parley\\.m${id}\\.u4@`));
});
